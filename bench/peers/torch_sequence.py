# PyTorch side of `npm run bench -- cuda-sequence --peers`: torch SDPA (causal) and a
# PyTorch selective scan of the same math (sequential over L, vectorised over d and n)
# at the shapes of bench/cuda-sequence.ts. Prints one JSON object of median milliseconds.
import json
import sys
import time

import torch


def median_ms(fn, runs=10):
    fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    return times[len(times) // 2]


def selective_scan(u, delta, A, B, C, D, z):
    # u, delta, z [L, d]; A [d, n]; B, C [L, n]; the Mamba-1 recurrence step by step
    delta = torch.nn.functional.softplus(delta)
    h = torch.zeros(A.shape, device=u.device)
    ys = []
    for t in range(u.shape[0]):
        h = torch.exp(delta[t, :, None] * A) * h + delta[t, :, None] * B[t][None, :] * u[t, :, None]
        ys.append(h @ C[t] + D * u[t])
    return torch.stack(ys) * torch.nn.functional.silu(z)


def main():
    quick = '--quick' in sys.argv
    out = {'device': torch.cuda.get_device_name(), 'attention': [], 'selectiveScan': []}
    H = 8
    for D in (64, 128):
        for L in ((1024, 4096) if quick else (1024, 4096, 16384)):
            q, k, v = (torch.randn(1, H, L, D, device='cuda') for _ in range(3))
            ms = median_ms(lambda: torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True))
            out['attention'].append({'D': D, 'L': L, 'ms': ms})
    d, n = 1536, 16
    for L in ((2048,) if quick else (2048, 8192)):
        u, delta, z = (torch.randn(L, d, device='cuda') for _ in range(3))
        A = -torch.rand(d, n, device='cuda') - 0.1
        B, C = (torch.randn(L, n, device='cuda') for _ in range(2))
        Dv = torch.randn(d, device='cuda')
        ms = median_ms(lambda: selective_scan(u, delta, A, B, C, Dv, z), runs=3)
        out['selectiveScan'].append({'d': d, 'n': n, 'L': L, 'ms': ms})
    print(json.dumps(out))


if __name__ == '__main__':
    main()
