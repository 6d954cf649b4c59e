"""One module per figure: ``compute`` runs the networks and kernels and writes the data files."""
