#!/usr/bin/env python3
"""PyTorch (cuBLAS) side of `npm run bench -- cuda-gemm --peers`.

Times y = a @ op(b) on the GPU for each shape, float32 activations and
float32 or bfloat16 weights. PyTorch cannot mix the two in one matmul, so a
bf16 shape runs with both operands in bf16 (what a PyTorch model would do);
float32 runs with TF32 off, the same arithmetic as crossroad's float32 path.
Prints JSON: {"device": ..., "results": [{"key", "seconds"}]} (median per call,
timed with CUDA events).

    python3 bench/peers/torch_gemm.py --shapes '[{"M":1,"K":4096,"N":4096,"weights":"bfloat16","transB":true}]'
"""
import argparse
import json
import statistics
import sys

ROTATE_BYTES = 512e6


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shapes", required=True, help="JSON list of {M, K, N, weights, transB}")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        print("torch is not installed", file=sys.stderr)
        return 1
    if not torch.cuda.is_available():
        print("torch sees no CUDA device", file=sys.stderr)
        return 1
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    dev = torch.device("cuda")
    results = []
    for s in json.loads(args.shapes):
        M, K, N, transB = s["M"], s["K"], s["N"], s["transB"]
        dtype = torch.bfloat16 if s["weights"] == "bfloat16" else torch.float32
        weight_bytes = K * N * (2 if dtype == torch.bfloat16 else 4)
        copies = 1 if M >= 512 else max(2, -(-int(ROTATE_BYTES) // weight_bytes))
        a = torch.randn(M, K, device=dev, dtype=dtype)
        bs = [torch.randn(N, K, device=dev, dtype=dtype) if transB else torch.randn(K, N, device=dev, dtype=dtype)
              for _ in range(copies)]
        y = torch.empty(M, N, device=dev, dtype=dtype)

        def run(i: int) -> None:
            b = bs[i % copies]
            torch.matmul(a, b.t() if transB else b, out=y)

        for i in range(3):
            run(i)
        torch.cuda.synchronize()
        samples = []
        runs = 5 if args.quick else 20
        for i in range(runs):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            run(i)
            end.record()
            end.synchronize()
            samples.append(start.elapsed_time(end) / 1e3)
        key = f"{M}x{K}x{N} {s['weights']}{' transB' if transB else ''}"
        results.append({"key": key, "seconds": statistics.median(samples)})
    print(json.dumps({"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
