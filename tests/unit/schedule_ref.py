import torch, warnings
warnings.filterwarnings("ignore")
def run(make, steps, per_epoch=1):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.1)
    s = make(opt)
    out = []
    for t in range(steps):
        out.append(opt.param_groups[0]['lr'])
        opt.step()
        if (t + 1) % per_epoch == 0:
            s.step()
    return out
L = torch.optim.lr_scheduler
print(torch.__version__)
for name, make, steps, pe in [
  ("cosine", lambda o: L.CosineAnnealingLR(o, T_max=20, eta_min=0.001), 21, 1),
  ("step_epoch", lambda o: L.StepLR(o, step_size=2, gamma=0.5), 15, 3),
  ("exp_step", lambda o: L.ExponentialLR(o, gamma=0.9), 10, 1),
  ("warm_cos", lambda o: L.SequentialLR(o, [L.LinearLR(o, start_factor=1/5, end_factor=1.0, total_iters=4), L.CosineAnnealingLR(o, T_max=15, eta_min=0.0)], milestones=[5]), 20, 1),
]:
    print(name, ", ".join(repr(v) for v in run(make, steps, pe)))
