"""Study: does FUSE's α rank its candidates, and from which search budget? (issue 33, docs/nas.md)

    .venv/bin/python alpha_rank_study.py --preset cpu --data-root ../shared/data

Per NAS target of the FTD paper (mnist-2, cifar10-2; --tasks for others) and seed, one FUSE stage of 6
full-space candidates at each budget of common/studies/alpha_rank.py (train images x weight epochs per
round), and the same candidates trained alone at the largest budget (the truth). Writes
results/<preset>/nas/alpha_rank.{csv,md,png} and alpha_rank_long.csv; each stage is a keyed record under
results/<preset>/nas/alpha_rank/, so a killed run resumes.
"""

from common.base.cli import common_parser, run


def main(argv=None):
    p = common_parser(__doc__, training=False, launchers=False)
    args = p.parse_args(argv)

    from common.studies.alpha_rank_step import alpha_rank_study

    command = "python alpha_rank_study.py " + " ".join(argv if argv is not None else __import__("sys").argv[1:])
    out = alpha_rank_study(args, command)
    print("outputs:\n  " + "\n  ".join(str(p) for p in out.values()))


if __name__ == "__main__":
    run(main)
