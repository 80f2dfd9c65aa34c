"""Studies built on mtda: they orchestrate the tools (``tools/*.py``), one process per step, as a
user would run them on a cluster, and put the tables together. They live outside the library:
``mtda`` holds what the studies call, not the studies.

* :mod:`.layout` -- the targets, the merges of the main table and the work-dir layout, defined once;
* :mod:`.main_job` -- data -> shared init -> stage one per target -> merges -> one table;
* :mod:`.claims` -- the paper's claims measured over seeds and model families.

Paths to configs and tools are passed in (``tools/run_mtda.py`` and ``tools/run_claims.py`` pass
their repository's), so nothing here depends on where a file sits.
"""
