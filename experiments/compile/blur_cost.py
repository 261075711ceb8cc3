"""What padding by concatenation (ReplicationBlur) costs against DeOldify's ReplicationPad2d + AvgPool2d, in eager mode on CPU.

`python experiments/compile/blur_cost.py`: forward + backward time of the blur alone and of a deoldify_small generator
training step (64 px, batch 8), each blur variant alternated, median of three; CPU time of one thread, which other
processes on a shared machine disturb less than wall time. Then the bytes each blur allocates (torch.profiler; what
the blur keeps for its backward pass is the same padded tensor in both). Figures in experiments/benchmarks/compile.md.
"""

import copy
import time

import torch
from torch import nn
from torch.profiler import ProfilerActivity, profile
from torch.utils.benchmark import Timer

from colorgan.nets.deoldify import ReplicationBlur, deoldify_generator


def old_blur() -> nn.Module:
    return nn.Sequential(nn.ReplicationPad2d((1, 0, 1, 0)), nn.AvgPool2d(2, stride=1))


def step_time(fn, rounds: int = 5) -> float:
    return Timer("fn()", globals={"fn": fn}, timer=time.process_time).blocked_autorange(min_run_time=rounds).median


def allocated_bytes(fn) -> int:
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    return sum(e.self_cpu_memory_usage for e in prof.key_averages() if e.self_cpu_memory_usage > 0)


torch.set_num_threads(1)
torch.manual_seed(0)
x = torch.randn(8, 64, 128, 128, requires_grad=True)
new_gen = deoldify_generator("deoldify_small").train()
old_gen = copy.deepcopy(new_gen)
for m in old_gen.modules():
    if hasattr(m, "blur"):
        m.blur = old_blur()
L = torch.rand(8, 1, 64, 64) * 2 - 1
rows = {
    "blur, (8, 64, 128, 128) fp32": {"old": lambda: old_blur()(x).sum().backward(), "new": lambda: ReplicationBlur()(x).sum().backward()},
    "deoldify_small step, 64 px, batch 8": {"old": lambda: old_gen(L).sum().backward(), "new": lambda: new_gen(L).sum().backward()},
}
for name, fns in rows.items():
    times = {"old": [], "new": []}
    for _ in range(3):  # alternate, so that the load of a shared machine falls on both
        for variant, fn in fns.items():
            times[variant].append(step_time(fn))
    old, new = sorted(times["old"])[1], sorted(times["new"])[1]
    print(f"{name}: ReplicationPad2d {old * 1e3:.1f} ms, concatenation {new * 1e3:.1f} ms ({(new / old - 1) * 100:+.0f} %)")
for phase, grad in (("forward", False), ("forward + backward", True)):
    with torch.set_grad_enabled(grad):
        sizes = {
            v: allocated_bytes(rows["blur, (8, 64, 128, 128) fp32"][v] if grad else lambda m=m: m(x))
            for v, m in (("old", old_blur()), ("new", ReplicationBlur()))
        }
    print(
        f"blur {phase}, bytes allocated for a {x.numel() * 4 / 2**20:.1f} MiB input: ReplicationPad2d {sizes['old'] / 2**20:.1f} MiB, concatenation {sizes['new'] / 2**20:.1f} MiB"
    )
