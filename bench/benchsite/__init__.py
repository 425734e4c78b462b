"""A small Django + Celery site the benchmarks drive in-process (not part of any distribution).

Which analytics the site runs is chosen by ``BENCH_VARIANT`` (see ``bench/bench_request.py``);
everything else is identical between the variants so the timings compare like with like.
"""
