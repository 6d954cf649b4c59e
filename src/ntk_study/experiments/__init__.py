"""One module per figure: ``run`` computes the result files, ``check_claims`` extracts the claims."""
