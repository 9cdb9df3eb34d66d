"""The transferability benchmark: scorers that predict, from a target's validation images, how well a source
network transfers, and the metrics that judge them against fine-tuning.

scorers  LEEP, NCE, LogME, H-score, Task2Vec, the Fisher Task Distances and baselines; the SCORERS registry and
         ``score(name, inputs)`` (higher = predicted better transfer)
metrics  per-target rank metrics (weighted tau, Pearson, Spearman, top-1 hit and regret), the two-level
         bootstrap, the paired sign-flip permutation test, the leaderboard
"""
