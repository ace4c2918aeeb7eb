"""Vector index speed on synthetic 384-d vectors: exact vs IVFFlat vs HNSW.

    python -m bench.index_speed [--sizes 100000 1000000] [--kinds ivf hnsw] [--queries 1000]

For each size: ``n`` unit vectors around 2,000 random centres (like sentence
embeddings, which cluster by topic) and held-out queries from the same distribution.
The reference is exact ``IndexFlatIP`` in the same run. For each index kind (built by
``retrieval.index.build_vector_index``, so IVF ``nprobe`` / HNSW ``efSearch`` are the
auto-tuned defaults): build time (training + adding + tuning), size in memory
(serialised bytes), recall@10 against exact search, single-query latency p50/p99
(one OpenMP thread, one query a call), batch QPS (all queries in one call, every
core) and the single-query speed-up over exact search.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from retrieval.index import IndexConfig, VectorIndex, build_vector_index, recall_at_k

DIM = 384


def synthetic(
    n: int, queries: int, *, seed: int = 0, clusters: int = 2_000, noise: float = 0.8
) -> tuple[np.ndarray, np.ndarray]:
    """``(n, 384)`` data and ``(queries, 384)`` queries, float32, unit length: centre +
    ``noise`` x N(0, 1) per dimension (0.8: a query's 10 neighbours mostly share its cluster,
    not always)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, DIM), dtype=np.float32)
    out = np.empty((n + queries, DIM), dtype=np.float32)
    for start in range(0, n + queries, 100_000):
        stop = min(start + 100_000, n + queries)
        chunk = centres[rng.integers(0, clusters, stop - start)]
        chunk += noise * rng.standard_normal((stop - start, DIM), dtype=np.float32)
        chunk /= np.linalg.norm(chunk, axis=1, keepdims=True)
        out[start:stop] = chunk
    return out[:n], out[n:]


def single_latency(search, queries: np.ndarray, limit: int) -> tuple[float, float]:
    """p50 and p99 milliseconds of one-query calls over the first ``limit`` queries."""
    times = []
    for q in queries[:limit]:
        t0 = time.perf_counter()
        search(q[None, :])
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(0.99 * len(times)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--kinds", nargs="+", default=["ivf", "hnsw"], choices=["flat", "ivf", "hnsw"])
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--exact-latency-queries", type=int, default=200)
    parser.add_argument("--noise", type=float, default=0.8, help="spread around the centres (higher: harder)")
    parser.add_argument("--clusters", type=int, default=2_000)
    args = parser.parse_args()

    import faiss

    cores = os.cpu_count() or 1
    print(f"faiss {faiss.__version__}, {cores} cores; single queries on 1 thread, batches on {cores}; "
          f"data: {args.clusters} clusters, noise {args.noise}\n")
    header = (f"{'n':>9} {'index':<7} {'params':<26} {'build s':>8} {'MiB':>7} {'recall@10':>9} "
              f"{'p50 ms':>8} {'p99 ms':>8} {'batch QPS':>10} {'speed-up':>8}")
    print(header)
    for n in args.sizes:
        x, q = synthetic(n, args.queries, noise=args.noise, clusters=args.clusters)
        ids = np.arange(n, dtype=np.int64)
        faiss.omp_set_num_threads(cores)
        t0 = time.perf_counter()
        exact = faiss.IndexFlatIP(DIM)
        exact.add(x)
        exact_build = time.perf_counter() - t0
        t0 = time.perf_counter()
        _, truth = exact.search(q, 10)
        exact_qps = len(q) / (time.perf_counter() - t0)
        faiss.omp_set_num_threads(1)
        e50, e99 = single_latency(lambda v, e=exact: e.search(v, 10), q, args.exact_latency_queries)
        print(f"{n:>9} {'exact':<7} {'IndexFlatIP':<26} {exact_build:>8.1f} {x.nbytes / 2**20:>7.0f} {1.0:>9.3f} "
              f"{e50:>8.2f} {e99:>8.2f} {exact_qps:>10.0f} {1.0:>8.1f}", flush=True)
        for kind in args.kinds:
            faiss.omp_set_num_threads(cores)
            t0 = time.perf_counter()
            index: VectorIndex = build_vector_index(x, ids, IndexConfig(kind=kind))
            build = time.perf_counter() - t0
            size = faiss.serialize_index(index.index).nbytes / 2**20
            t0 = time.perf_counter()
            _, found = index.search(q, 10)
            qps = len(q) / (time.perf_counter() - t0)
            recall = recall_at_k(found, truth, 10)
            faiss.omp_set_num_threads(1)
            p50, p99 = single_latency(lambda v, i=index: i.search(v, 10), q, len(q))
            params = ", ".join(f"{k}={v}" for k, v in index.params.items() if k != "ef_construction")
            print(f"{n:>9} {kind:<7} {params:<26} {build:>8.1f} {size:>7.0f} {recall:>9.3f} {p50:>8.2f} "
                  f"{p99:>8.2f} {qps:>10.0f} {e50 / p50:>8.0f}x", flush=True)
            del index
        del x, exact


if __name__ == "__main__":
    main()
