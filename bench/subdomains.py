"""Document-level subdomain mapping against the samples' truth (documents[].subdomains).

    .venv/bin/python bench/subdomains.py [--store DIR]

Prints every document whose mapped subdomains differ from the truth, then precision and recall.
"""
import json, sys
from pathlib import Path
sys.path.insert(0,'.')
from pipeline.settings import Settings
from pipeline.screen import read_application, build_result
store = sys.argv[sys.argv.index('--store') + 1] if '--store' in sys.argv else '.yunshen/bench-store'
s=Settings(cache_dir=Path(store))
tp=fp=fn=0
for app in sorted(Path('samples/applications').iterdir()):
    t=json.loads((Path('samples/truth')/app.name/'truth.json').read_text())
    r=build_result(read_application(app,s),s)
    docs={d.file:d for d in r.documents}
    for td in t['documents']:
        if td['kind'] in ('application_form','licence'): continue
        want=set(td.get('subdomains',[])); d=docs.get(td['file'])
        got={h.name for h in d.subdomains} if d else set()
        tp+=len(want&got); fp+=len(got-want); fn+=len(want-got)
        if want!=got: print(app.name, td['file'], td['kind'], 'missing', sorted(want-got), 'extra', sorted(got-want))
print('doc-level P', tp/(tp+fp), 'R', tp/(tp+fn))
