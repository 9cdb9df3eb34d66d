"""Transfer learning (step 4): does a small distance mean a good transfer?

runs   fine-tuning a source network on a target: keyed runs (keyed code)
table  the transfer study's tables and figure
"""
