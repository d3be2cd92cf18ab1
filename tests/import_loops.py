#!/usr/bin/env python3
"""Import loops between the source files of one crate.

Usage: import_loops.py CRATE/src

Each .rs file is a node; A -> B when A names a path (`crate::...`,
`super::...`, also through the crate root's `use` aliases) that resolves into
module file B. Prints the files and the largest strongly connected component
(a set of files that import each other in a loop); exits 1 if there is one.
Test code (after `#[cfg(test)]`) is ignored.
"""
import re,os,sys
root=os.path.abspath(sys.argv[1])
files={}
for d,_,fs in os.walk(root):
    for f in fs:
        if f.endswith('.rs'):
            p=os.path.join(d,f); rel=os.path.relpath(p,root)[:-3].split('/')
            if rel[-1]=='mod': rel=rel[:-1]
            if rel==['lib']: rel=[]
            files[tuple(rel)]=p
lib=open(os.path.join(root,'lib.rs')).read()
alias={}
for m in re.finditer(r'use\s+(\w+)::\{([^}]*)\};',lib):
    for name in [x.strip() for x in m.group(2).split(',') if x.strip()]:
        if (m.group(1),name) in files: alias[name]=(m.group(1),name)
for m in re.finditer(r'use\s+(\w+)::(\w+);',lib):
    if (m.group(1),m.group(2)) in files: alias[m.group(2)]=(m.group(1),m.group(2))
def resolve(segs):
    if segs and segs[0] in alias: segs=list(alias[segs[0]])+segs[1:]
    best=None
    for i in range(len(segs),0,-1):
        if tuple(segs[:i]) in files: best=tuple(segs[:i]); break
    return best
edges={k:set() for k in files}
for mod,p in files.items():
    s=open(p).read().split('#[cfg(test)]')[0]
    refs=[]
    for m in re.finditer(r'crate::((?:\w+::)*\w+)',s): refs.append(m.group(1).split('::'))
    for m in re.finditer(r'use crate::\{([^;]*)\};',s,re.S):
        for part in re.split(r',\s*',m.group(1)):
            part=part.strip().split('::{')[0]
            if part: refs.append(part.split('::'))
    for m in re.finditer(r'\bsuper::((?:\w+::)*\w+)',s):
        base=list(mod[:-1]) if not p.endswith('mod.rs') else list(mod[:-1])
        refs.append(base+m.group(1).split('::') if base is not None else m.group(1).split('::'))
    for m in re.finditer(r'use super::\{([^;]*)\};',s,re.S):
        base=list(mod[:-1])
        for part in re.split(r',\s*',m.group(1)):
            part=part.strip()
            if part: refs.append(base+part.split('::'))
    for r in refs:
        t=resolve(r)
        if t is not None and t!=mod and t!=(): edges[mod].add(t)
idx={};low={};st=[];on=set();res=[];c=[0]
sys.setrecursionlimit(10000)
def sc(v):
    idx[v]=low[v]=c[0];c[0]+=1;st.append(v);on.add(v)
    for w in edges[v]:
        if w not in idx: sc(w);low[v]=min(low[v],low[w])
        elif w in on: low[v]=min(low[v],idx[w])
    if low[v]==idx[v]:
        comp=[]
        while True:
            w=st.pop();on.discard(w);comp.append(w)
            if w==v:break
        res.append(comp)
for v in files:
    if v not in idx: sc(v)
big=sorted([sorted('/'.join(x) for x in c) for c in res if len(c)>1],key=len,reverse=True)
print(len(files),'files; largest loop:',len(big[0]) if big else 0, big[0] if big else '', 'other loops:',[len(b) for b in big[1:]])
sys.exit(1 if big else 0)
