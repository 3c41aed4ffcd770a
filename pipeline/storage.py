"""Object storage behind one interface: the local filesystem (embedded default) or S3/MinIO.

Keys are ``/``-separated strings. What goes in is never overwritten in place:

* content-addressed objects (originals by sha256, OCR cache entries by their key) are written
  with :meth:`Store.put_if_absent` — same key, same bytes;
* everything else is written whole under a new key, or atomically replaced on the local store
  (write to a temporary file, then rename), so a reader never sees half an object.

On S3 a single PUT is atomic by itself (an object appears whole or not at all).
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Protocol, runtime_checkable

from pipeline.cache import atomic_write_bytes


class StoreError(RuntimeError):
    """The store could not be reached or refused the request (a retry may help)."""


@runtime_checkable
class Store(Protocol):
    def get(self, key: str) -> bytes | None: ...
    def put(self, key: str, data: bytes) -> None: ...
    def put_if_absent(self, key: str, data: bytes) -> bool: ...
    def exists(self, key: str) -> bool: ...
    def list(self, prefix: str = "") -> Iterator[str]: ...
    def delete(self, key: str) -> None: ...
    def url(self, key: str, expires: timedelta = timedelta(hours=1)) -> str: ...
    def describe(self) -> str: ...


def _check_key(key: str) -> str:
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts) or "\x00" in key:
        raise ValueError(f"invalid storage key: {key!r}")
    return key


@dataclass
class LocalStore:
    """Objects as files under ``root``; keys are validated so they can never leave it."""

    root: Path

    def _path(self, key: str) -> Path:
        return Path(self.root) / _check_key(key)

    def get(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, data)

    def put_if_absent(self, key: str, data: bytes) -> bool:
        path = self._path(key)
        if path.exists():
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
        try:
            tmp.write_bytes(data)  # inside the try: a full disk must not leave a half-written .part
            os.link(tmp, path)  # fails if another writer got there first
            return True
        except FileExistsError:
            return False
        finally:
            tmp.unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).exists()

    def list(self, prefix: str = "") -> Iterator[str]:
        base = Path(self.root)
        folder = prefix.rpartition("/")[0]  # walk only below the prefix's folder, not the whole store
        start = base / _check_key(folder) if folder else base
        if not start.is_dir():
            return
        for path in sorted(start.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                key = path.relative_to(base).as_posix()
                if key.startswith(prefix):
                    yield key

    def delete(self, key: str) -> None:
        path = self._path(key)
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)

    def url(self, key: str, expires: timedelta = timedelta(hours=1)) -> str:
        return self._path(key).resolve().as_uri()

    def describe(self) -> str:
        return f"file://{Path(self.root).resolve()}"


class S3Store:
    """Objects in an S3-compatible bucket through the ``minio`` SDK (SigV4, presigned URLs)."""

    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        *,
        secure: bool = True,
        region: str | None = None,
        prefix: str = "",
        create_bucket: bool = True,
    ) -> None:
        from minio import Minio

        self.client = Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=secure, region=region)
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.endpoint = endpoint
        if create_bucket:
            try:
                if not self.client.bucket_exists(bucket):
                    self.client.make_bucket(bucket)
            except Exception as exc:
                raise StoreError(f"S3 bucket {bucket} at {endpoint} unavailable: {exc}") from exc

    def _k(self, key: str) -> str:
        return self.prefix + _check_key(key)

    def get(self, key: str) -> bytes | None:
        from minio.error import S3Error

        name = self._k(key)
        try:
            resp = self.client.get_object(self.bucket, name)
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject", "NotFound"):
                return None
            raise StoreError(str(exc)) from exc
        except Exception as exc:  # connection refused, timeouts (urllib3 errors)
            raise StoreError(f"S3 get {key}: {exc}") from exc
        try:
            return resp.read()
        finally:
            resp.close()
            resp.release_conn()

    def put(self, key: str, data: bytes) -> None:
        name = self._k(key)
        try:
            self.client.put_object(self.bucket, name, io.BytesIO(data), len(data))
        except Exception as exc:
            raise StoreError(f"S3 put {key}: {exc}") from exc

    def put_if_absent(self, key: str, data: bytes) -> bool:
        """Content-addressed keys only: a racing writer puts the same bytes, so check-then-put is safe."""
        if self.exists(key):
            return False
        self.put(key, data)
        return True

    def exists(self, key: str) -> bool:
        from minio.error import S3Error

        name = self._k(key)
        try:
            self.client.stat_object(self.bucket, name)
            return True
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject", "NotFound", "ResourceNotFound"):
                return False
            raise StoreError(str(exc)) from exc
        except Exception as exc:
            raise StoreError(f"S3 stat {key}: {exc}") from exc

    def list(self, prefix: str = "") -> Iterator[str]:
        try:
            for obj in self.client.list_objects(self.bucket, prefix=self.prefix + prefix, recursive=True):
                yield obj.object_name[len(self.prefix) :]
        except Exception as exc:
            raise StoreError(f"S3 list {prefix}: {exc}") from exc

    def delete(self, key: str) -> None:
        name = self._k(key)
        try:
            self.client.remove_object(self.bucket, name)
        except Exception as exc:
            raise StoreError(f"S3 delete {key}: {exc}") from exc

    def url(self, key: str, expires: timedelta = timedelta(hours=1)) -> str:
        return self.client.presigned_get_object(self.bucket, self._k(key), expires=expires)

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix} at {self.endpoint}"


def open_store(settings) -> Store:  # noqa: ANN001 - Settings (import cycle avoided)
    """The store the settings name: local files by default, S3/MinIO when ``store=s3``."""
    if settings.store == "s3":
        missing = [
            name
            for name, value in (
                ("YUNSHEN_S3_ENDPOINT", settings.s3_endpoint),
                ("YUNSHEN_S3_ACCESS_KEY", settings.s3_access_key),
                ("YUNSHEN_S3_SECRET_KEY", settings.s3_secret_key),
            )
            if not value
        ]
        if missing:
            raise StoreError(f"store=s3 needs {', '.join(missing)}")
        return S3Store(
            settings.s3_endpoint,
            settings.s3_access_key,
            settings.s3_secret_key.get_secret_value(),
            settings.s3_bucket,
            secure=settings.s3_secure,
            region=settings.s3_region,
            prefix=settings.s3_prefix,
        )
    return LocalStore(Path(settings.cache_dir))
