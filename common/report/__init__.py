"""Reports: REPORT.md, the README's generated blocks, the papers' claims, figures.

tables   each result table as Markdown, rendered from the result files
claims     the decision rules of the papers' claims and the suite's own checks
claim_list every claim, in order, counted once; the head-confound controls
verdicts   the claims, noise-floor and controls blocks
plots    task-distance heatmaps
blocks   filling the README's ``<!-- generated:NAME -->`` blocks
"""
