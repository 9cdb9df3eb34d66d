"""The transferability benchmark: scorers that predict, from a target's validation images, how well a source
network transfers, and the metrics that judge them against fine-tuning.

scorers       LEEP, NCE, LogME, H-score, Task2Vec, the Fisher Task Distances and baselines, one module per family;
              the SCORERS registry and ``score(name, inputs)`` in its ``__init__`` (higher = predicted better transfer)
metrics       per-target rank metrics (weighted tau, Pearson, Spearman, top-1 hit and regret), the two-level
              bootstrap, the paired sign-flip permutation test, the leaderboard
pool          the task pool (every other task a source) and the budget, one frozen BenchmarkConfig per preset
ground_truth  fine-tuning, head-only and scratch over a learning-rate grid, selected on validation, test reported
inputs        the scorers' inputs from the target's validation images (softmax, features, Fishers, Task2Vec)
benchmark     the keyed records of every (source, target, seed), the pairs table, per-target metrics, leaderboard
report        the pairs / leaderboard CSVs, the Markdown, the figure, the verdicts (FTD vs chance, LEEP, LogME)
step          transferability.py's body: checks before any work, then the benchmark and its outputs
"""
