from __future__ import annotations

import urllib.request

import pytest

from pipeline.cache import OcrCache
from pipeline.model import Line, Page
from pipeline.storage import LocalStore, S3Store, StoreError


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return LocalStore(tmp_path / "store")
    return request.getfixturevalue("s3_store")


def test_put_get_list_delete(store):
    assert store.get("a/b.json") is None and not store.exists("a/b.json")
    store.put("a/b.json", b"one")
    store.put("a/c.json", b"two")
    store.put("z/d.json", b"three")
    assert store.get("a/b.json") == b"one" and store.exists("a/b.json")
    assert sorted(store.list("a/")) == ["a/b.json", "a/c.json"]
    store.put("a/b.json", b"one-v2")  # whole replacement, never a mix
    assert store.get("a/b.json") == b"one-v2"
    store.delete("a/b.json")
    assert store.get("a/b.json") is None


def test_put_if_absent_never_overwrites(store):
    assert store.put_if_absent("originals/ab/abc", b"first") is True
    assert store.put_if_absent("originals/ab/abc", b"second") is False
    assert store.get("originals/ab/abc") == b"first"


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs", "a//b", "a/./b", ""])
def test_keys_cannot_escape(store, key):
    with pytest.raises(ValueError):
        store.put(key, b"x")


def test_ocr_cache_round_trip(store):
    cache = OcrCache(store)
    page = Page(number=1, width=100, height=50, unit="px", source="ocr",
                lines=[Line(text="云服务器", bbox=[0.1, 0.1, 0.5, 0.2], confidence=0.98)])
    assert cache.get("k1") is None
    cache.put("k1", page)
    assert cache.get("k1") == page
    assert (cache.stats.hits, cache.stats.misses, cache.stats.writes) == (1, 1, 1)


def test_s3_needs_valid_signature_and_presigned_urls_work(s3_server, s3_store):
    from s3server import ACCESS_KEY

    s3_store.put("results/x.json", b'{"ok": true}')
    with urllib.request.urlopen(s3_store.url("results/x.json"), timeout=10) as resp:
        assert resp.read() == b'{"ok": true}'
    wrong = S3Store(s3_server.endpoint, ACCESS_KEY, "not-the-secret", "yunshen-test",
                    secure=False, prefix=s3_store.prefix, create_bucket=False)
    with pytest.raises(StoreError):
        wrong.get("results/x.json")
    unsigned = f"http://{s3_server.endpoint}/yunshen-test/{s3_store.prefix}results/x.json"
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(unsigned, timeout=10)
    assert exc.value.code in (401, 403)


def test_s3_unreachable_is_a_store_error(tmp_path):
    from s3server import free_port

    with pytest.raises(StoreError):
        S3Store(f"127.0.0.1:{free_port()}", "a", "b", "yunshen-test", secure=False)
