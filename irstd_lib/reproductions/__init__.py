"""One module per reproduced paper: the run configs behind each of its tables and the functions
that turn finished runs into tables (our measured values beside the paper's reported ones) and
figures. The notebooks in ``notebooks/`` call these and nothing else."""
