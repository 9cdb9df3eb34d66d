"""Studies of the distance: rank comparisons, the published matrices, consistency, log-det, the atlas.

ranking      rank comparison of matrices (Spearman, Kendall, closest sources)
published    the papers' printed matrices, as plain data
consistency  consistency studies (seeds, samples, architectures)
noise_floor  the null twins and the noise floor of a matrix (the floor a difference must exceed)
paired_stats exact sign-flip tests and paired t-intervals over seeds
logdet       why the log-det matrix does not reproduce: every combination of choices
atlas        a 2-D map of a distance matrix and its comparison with published affinities
"""
