"""The reproduced tables and figures, in layers that import only downward:

- :mod:`~irstd_lib.reproductions.specs`: every table and figure as data (its notebook, rows,
  reference row, paper table); the notebook list and the plan derive from it;
- :mod:`~irstd_lib.reproductions.configs`: a row to a run config by its system's protocol in the
  profile (:func:`~irstd_lib.reproductions.configs.run_config`), and the run context a notebook
  passes down;
- :mod:`~irstd_lib.reproductions.seeds` and :mod:`~irstd_lib.reproductions.intervals`: rows at
  several seeds, the seed spread, bootstrap intervals;
- :mod:`~irstd_lib.reproductions.tables`: one function builds a table from its spec;
- one module per paper (``lgnet``, ``saist``, ``dgspnet``, ``ggl_net``) and the cross-method
  ``comparison``: each table's layout beside the paper's values, and the figures; the notebooks
  in ``notebooks/`` call these and nothing else;
- :mod:`~irstd_lib.reproductions.plan`: what ``reproduce --plan`` lists, from the specs.
"""
