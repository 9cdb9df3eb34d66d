"""Reports: REPORT.md, the README's generated blocks, the papers' claims, figures.

tables   each result table as Markdown, rendered from the result files
claims   the papers' qualitative claims, decided from the results
plots    task-distance heatmaps
blocks   filling the README's ``<!-- generated:NAME -->`` blocks
"""
