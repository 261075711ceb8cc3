"""Minimal reproduction: torch.compile fails in the backward pass of replicate padding on CPU (aten.replication_pad2d_backward).

Run alone: `python experiments/compile/repro_replication_pad.py` (about 1-3 minutes of compilation on 2 cores).

Affected: torch 2.14.1+cu130 on CPU (Linux x86-64, seen 2026-12-01). Both cases below print
    AssertionError: expected size 6==6, stride 1==4096 at dim=1; expected size 64==64, stride 384==64 at dim=2; ...
    Error in op: torch.ops.aten.replication_pad2d_backward.default

Cause (PyTorch's): Inductor has no lowering for aten.replication_pad2d_backward and calls the ATen kernel
(make_fallback), then asserts that the result has the strides the op's meta function predicted. The meta function
(meta_pad2d_backward in torch/_meta_registrations.py) returns `self.new_empty(self.shape)`, always contiguous, but
the CPU kernel returns its result in the memory format of the padded input, channels-last when that input is.
The first lines printed below show the two disagree. The padded input is channels-last when the model's input is
(case 1), and also when it is not but a convolution follows the padding (case 2, what DeOldify's blur does):
Inductor's layout optimisation then keeps a channels-last copy of the input for the backward pass.
Related upstream: pytorch/pytorch#171622 (the same meta-vs-kernel stride mismatch for convolution_backward) and
#179442 (compiled F.pad loses channels-last in the forward).
colorgan works around it in colorgan.nets.deoldify.ReplicationBlur (padding by concatenation).
"""

import torch
import torch.nn.functional as F

pad_backward = torch.ops.aten.replication_pad2d_backward.default
x = torch.randn(2, 6, 64, 64)
x_cl, grad = x.to(memory_format=torch.channels_last), torch.randn(2, 6, 65, 65)
print("channels-last input, CPU kernel result strides:", pad_backward(grad, x_cl, [1, 0, 1, 0]).stride())
print("channels-last input, meta result strides:      ", pad_backward(grad.to("meta"), x_cl.to("meta"), [1, 0, 1, 0]).stride())

conv = torch.nn.Conv2d(6, 6, 3, padding=1)
cases = {
    "1: channels-last input": (lambda t: F.pad(t, (1, 0, 1, 0), mode="replicate") * 2, x_cl),
    "2: contiguous input, conv after the padding": (lambda t: conv(F.pad(t, (1, 0, 1, 0), mode="replicate")), x),
}
for name, (fn, inp) in cases.items():
    torch._dynamo.reset()
    try:
        torch.compile(fn)(inp.clone().requires_grad_()).sum().backward()
        print(f"case {name}: compiled backward ran (this torch is not affected)")
    except Exception as exc:  # noqa: BLE001 - the point is to print whatever the compiler raises
        print(f"case {name}: {type(exc).__name__}: {exc}")
