"""Why colorgan.models.snapshot copies through `_owned` on XLA, in a few lines (run with PJRT_DEVICE=CPU in .venv-xla).

A snapshot taken with clone() shares the parameter's device buffer; the optimiser step donates that buffer to the
parameter's new value, and restoring from the snapshot then fails ("buffer ... is deleted" in E-GAN; here
"Trying to access XLA data for tensor with ID 40 while an async operation is in flight"). A copy computed by an
arithmetic identity (x * 1) owns its buffer: "restored exactly: True". Seen with torch_xla 2.9.0 / torch 2.9.0.
"""

import torch
import torch_xla


def snapshot_and_restore(copy) -> str:
    """Two rounds of: Adam step, then restore the parameter from a snapshot taken before them."""
    param = torch.nn.Parameter(torch.randn(16, device=torch_xla.device()))
    optimizer = torch.optim.Adam([param], lr=0.1)
    torch_xla.sync()
    snapshot = copy(param.detach())
    try:
        for _ in range(2):
            (param * param).sum().backward()
            optimizer.step()
            optimizer.zero_grad()
            torch_xla.sync()
            with torch.no_grad():
                param.copy_(copy(snapshot))
            torch_xla.sync()
        return f"restored exactly: {torch.equal(param.detach().cpu(), snapshot.cpu())}"
    except RuntimeError as error:
        return f"fails: {str(error).splitlines()[0]}"


if __name__ == "__main__":
    print("clone():", snapshot_and_restore(lambda t: t.clone()))
    print("x * 1:  ", snapshot_and_restore(lambda t: t * 1))
