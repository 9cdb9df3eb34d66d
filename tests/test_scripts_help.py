"""Every script's --help answers without torch; the registries' names agree."""

from report_helpers import ROOT

SCRIPTS = [
    "train_task_mnist",
    "train_task_cifar",
    "train_task_cifar100",
    "fisher_distance",
    "logdet_study",
    "alpha_rank_study",
    "consistency_study",
    "nas_fuse",
    "transfer",
    "reproduce",
    "collect",
    "train_task_taskonomy",
    "fisher_distance_taskonomy",
]


DENSE_SCRIPTS = ("train_task_taskonomy", "fisher_distance_taskonomy")


def test_help_answers_without_importing_torch():
    """--help parses before anything heavy is imported (torch alone takes seconds), and lists the
    task and task-set names."""
    import subprocess
    import sys

    code = (
        "import sys, contextlib, io\nfor m in {mods!r}:\n    out = io.StringIO()\n"
        "    with contextlib.redirect_stdout(out):\n        try:\n            __import__(m).main(['--help'])\n"
        "        except SystemExit:\n            pass\n    print(m, 'tasks: mnist-0' in out.getvalue(), "
        "'ldnas8: ' in out.getvalue(), 'taskonomy-2d: 2d-autoencoding' in out.getvalue())\n"
        "print('torch imported:', 'torch' in sys.modules)"
    )
    r = subprocess.run(
        [sys.executable, "-c", code.format(mods=SCRIPTS)], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "torch imported: False", r.stdout
    for line in r.stdout.splitlines()[:-1]:
        name, tasks, sets, dense = line.split()
        if name in DENSE_SCRIPTS:  # the dense scripts list the dense registry
            assert dense == "True", line
        elif name not in ("reproduce", "collect"):  # the step scripts list the registry
            assert tasks == sets == "True", line


def test_registry_names_agree_with_the_registries():
    from common.base import device, names
    from common.fisher import distance
    from common.fisher import estimators as fisher
    from common.nas import spec as nas_spec
    from common.networks import models

    assert names.NETWORK_NAMES == tuple(models.NETWORKS) and names.DISTANCE_NAMES == tuple(distance.DISTANCES)
    from common.dense import models as dense_models

    assert names.DENSE_NETWORK_NAMES == tuple(dense_models.DENSE_NETWORKS)
    assert names.ESTIMATOR_NAMES == fisher.ESTIMATORS and device.DEVICES == names.DEVICE_NAMES
    assert nas_spec.SPACES == names.NAS_SPACE_NAMES
    from common.run import launchers

    assert set(names.LAUNCHERS) == {"inline", *launchers.LAUNCH}  # every launcher a flag offers exists
