#!/usr/bin/env python3
"""Who holds the heap of a node with N idle connections: reads a heap dump (jcmd GC.heap_dump,
HPROF 1.0.2) and prints
  1. the classes whose instances retain the most, with the retained size per connection, where
     "retained" counts an object for its owner while the object has exactly one referrer (the
     dominator tree of tree-shaped data; a shared object is counted for nobody below its sharers);
  2. the largest groups of arrays of one type and length (e.g. 2,000 x short[762]) and the classes
     that refer to them, so a per-connection array can be traced to its owner.

Usage: heap-owners.py HEAP.hprof CONNECTIONS [TOP]   (idle-memory.sh HEAP_DUMP=1 writes heap-N.hprof)
Shallow sizes assume compressed oops and class pointers (12-byte header, 4-byte references, 8-byte
alignment), the JVM's defaults below 32 GB of heap. Needs numpy; ~1 GB of memory per 10 M objects.
"""
import struct
import sys
from array import array
from collections import Counter, defaultdict

import numpy as np

PRIM = {4: ("boolean", 1), 5: ("char", 2), 6: ("float", 4), 7: ("double", 8),
        8: ("byte", 1), 9: ("short", 2), 10: ("int", 4), 11: ("long", 8)}


def align(n):
    return (n + 7) & ~7


def main():
    path, n_conn = sys.argv[1], int(sys.argv[2])
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 30
    data = open(path, "rb").read()
    pos = data.index(b"\0") + 1
    idsize = struct.unpack_from(">I", data, pos)[0]
    assert idsize == 8, "expects 8-byte ids"
    pos += 12
    rid = struct.Struct(">Q").unpack_from
    strings, class_name_id, class_super, class_fields = {}, {}, {}, {}
    ids, cls, size = array("Q"), array("Q"), array("Q")  # object id, class id (or array tag), shallow bytes
    esrc, edst = array("Q"), array("Q")                    # reference edges by object id
    roots = array("Q")
    array_kind = {}                                        # object id -> (type name, length) for arrays
    pending = []                                           # instances decoded once every class is known
    end = len(data)
    while pos < end:
        tag = data[pos]
        length = struct.unpack_from(">I", data, pos + 5)[0]
        body, pos = pos + 9, pos + 9 + length
        if tag == 0x01:
            strings[rid(data, body)[0]] = data[body + 8:pos].decode("utf-8", "replace")
        elif tag == 0x02:
            class_name_id[rid(data, body + 4)[0]] = rid(data, body + 16)[0]
        elif tag in (0x0C, 0x1C):
            p = body
            while p < pos:
                sub = data[p]
                p += 1
                if sub in (0xFF, 0x05, 0x07):
                    roots.append(rid(data, p)[0]); p += 8
                elif sub == 0x01:
                    roots.append(rid(data, p)[0]); p += 16
                elif sub in (0x02, 0x03, 0x08):
                    roots.append(rid(data, p)[0]); p += 16
                elif sub in (0x04, 0x06):
                    roots.append(rid(data, p)[0]); p += 12
                elif sub == 0x20:
                    cid = rid(data, p)[0]
                    class_super[cid] = rid(data, p + 12)[0]
                    p += 8 + 4 + 8 * 6 + 4
                    (ncp,) = struct.unpack_from(">H", data, p); p += 2
                    for _ in range(ncp):
                        t = data[p + 2]
                        p += 3 + (8 if t == 2 else PRIM[t][1])
                    (nst,) = struct.unpack_from(">H", data, p); p += 2
                    for _ in range(nst):
                        t = data[p + 8]
                        if t == 2:
                            esrc.append(cid); edst.append(rid(data, p + 9)[0])
                        p += 9 + (8 if t == 2 else PRIM[t][1])
                    (nf,) = struct.unpack_from(">H", data, p); p += 2
                    fields = []
                    for _ in range(nf):
                        fields.append(data[p + 8]); p += 9
                    class_fields[cid] = fields
                elif sub == 0x21:
                    oid, cid = rid(data, p)[0], rid(data, p + 12)[0]
                    (nb,) = struct.unpack_from(">I", data, p + 20)
                    pending.append((oid, cid, p + 24, nb))
                    p += 24 + nb
                elif sub == 0x22:
                    oid = rid(data, p)[0]
                    (n,) = struct.unpack_from(">I", data, p + 12)
                    acid = rid(data, p + 16)[0]
                    refs = struct.unpack_from(">%dQ" % n, data, p + 24)
                    for r in refs:
                        if r:
                            esrc.append(oid); edst.append(r)
                    ids.append(oid); cls.append(acid); size.append(align(16 + 4 * n))
                    array_kind[oid] = (acid, n)
                    p += 24 + 8 * n
                elif sub == 0x23:
                    oid = rid(data, p)[0]
                    (n,) = struct.unpack_from(">I", data, p + 12)
                    t = data[p + 16]
                    ids.append(oid); cls.append(t); size.append(align(16 + PRIM[t][1] * n))
                    array_kind[oid] = (t, n)
                    p += 17 + PRIM[t][1] * n
                else:
                    raise ValueError("unknown heap sub-record 0x%x at %d" % (sub, p))

    def name_of(c):
        if c in PRIM:
            return PRIM[c][0] + "[]"
        return strings.get(class_name_id.get(c), "?%x" % c).replace("/", ".")

    layouts = {}

    def layout(cid):  # (reference field offsets in the dump, shallow size in the heap)
        if cid not in layouts:
            offs, off, heap = [], 0, 12
            c = cid
            while c:
                for t in class_fields.get(c, []):
                    if t == 2:
                        offs.append(off); off += 8; heap += 4
                    else:
                        off += PRIM[t][1]; heap += PRIM[t][1]
                c = class_super.get(c, 0)
            layouts[cid] = (offs, align(heap))
        return layouts[cid]

    for oid, cid, start, nb in pending:
        offs, heap = layout(cid)
        ids.append(oid); cls.append(cid); size.append(heap)
        for o in offs:
            r = rid(data, start + o)[0]
            if r:
                esrc.append(oid); edst.append(r)
    del data, pending

    ids_np = np.frombuffer(ids, dtype=np.uint64)
    order = np.argsort(ids_np)
    sorted_ids = ids_np[order]

    def index(a):
        a = np.frombuffer(a, dtype=np.uint64) if not isinstance(a, np.ndarray) else a
        i = np.searchsorted(sorted_ids, a)
        i = np.clip(i, 0, len(sorted_ids) - 1)
        ok = sorted_ids[i] == a
        out = np.full(len(a), -1, dtype=np.int64)
        out[ok] = order[i[ok]]
        return out

    src, dst = index(esrc), index(edst)
    keep = (dst >= 0) & (src != dst)
    src, dst = src[keep], dst[keep]  # class objects (statics) are not in ids: their edges keep src -1
    nobj = len(ids_np)
    indeg = np.bincount(dst, minlength=nobj)
    parent = np.full(nobj, -1, dtype=np.int64)
    uniq = indeg[dst] == 1
    parent[dst[uniq]] = src[uniq]
    root_idx = index(np.unique(np.frombuffer(roots, dtype=np.uint64)))
    parent[root_idx[root_idx >= 0]] = -1
    size_np = np.frombuffer(size, dtype=np.uint64).astype(np.int64)
    cls_np = np.frombuffer(cls, dtype=np.uint64)

    # retained: add each object's size to its unique-parent chain (tree-shaped ownership)
    depth = np.zeros(nobj, dtype=np.int64)
    has = parent >= 0
    cur = parent.copy()
    for _ in range(200):  # depth by pointer walking; longer chains (linked lists) are cut at 200
        alive = cur >= 0
        if not alive.any():
            break
        depth[alive] += 1
        cur[alive] = parent[cur[alive]]
    retained = size_np.copy()
    for d in range(int(depth.max()), 0, -1):
        at = np.nonzero((depth == d) & has)[0]
        np.add.at(retained, parent[at], retained[at])

    total = int(size_np.sum())
    print("objects %d, shallow total %.1f MB, connections %d" % (nobj, total / 1e6, n_conn))
    by_class_count = Counter()
    by_class_shallow = defaultdict(int)
    by_class_retained = defaultdict(int)
    for c, cnt in zip(*np.unique(cls_np, return_counts=True)):
        by_class_count[int(c)] = int(cnt)
    np_cls_int = cls_np.astype(np.int64)
    uc, inv = np.unique(np_cls_int, return_inverse=True)
    sh = np.bincount(inv, weights=size_np)
    rt = np.bincount(inv, weights=retained)
    for i, c in enumerate(uc):
        by_class_shallow[int(c)] = sh[i]
        by_class_retained[int(c)] = rt[i]
    print("\n== classes by retained bytes (unique-owner tree), per connection ==")
    print("%10s %10s %10s  %s" % ("inst/conn", "shallow", "retained", "class"))
    for c in sorted(by_class_retained, key=lambda c: -by_class_retained[c])[:top]:
        print("%10.2f %10.0f %10.0f  %s" % (by_class_count[c] / n_conn, by_class_shallow[c] / n_conn,
                                            by_class_retained[c] / n_conn, name_of(c)))

    print("\n== array groups (type, length) by total bytes, per connection, with their referrers ==")
    groups = defaultdict(list)
    for oid, (t, n) in array_kind.items():
        groups[(t, n)].append(oid)
    ranked = sorted(groups.items(), key=lambda kv: -len(kv[1]) * align(16 + 4 * kv[0][1]))[:top]
    referrer_of = {}
    for (t, n), members in ranked:
        idx = index(np.array(members, dtype=np.uint64))
        per = int(size_np[idx].sum()) / n_conn
        if per < 50:
            continue
        mask = np.isin(dst, idx)
        owners = Counter(name_of(int(cls_np[s])) for s in src[mask][:200000])
        tname = name_of(t) if t in PRIM else name_of(t)
        print("%8d x %s len %d: %.0f B/conn; referred to by %s" % (
            len(members), tname, n, per, ", ".join("%s %d" % kv for kv in owners.most_common(4))))


if __name__ == "__main__":
    main()
