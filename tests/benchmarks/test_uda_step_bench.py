"""benchmarks/uda_step_bench.py runs and reports what it measured (no timing is asserted)."""
import json
import subprocess
import sys

from support import CONFIGS, REPO


def test_the_bench_reports_both_steps_their_ratio_and_the_parts_of_a_mic_iteration():
    config = CONFIGS / 'mic' / 'gta2cityscapes_mic_daformer_efficientnet-lite0_tiny.py'
    proc = subprocess.run(
        [sys.executable, 'benchmarks/uda_step_bench.py', '--config', str(config), '--iters', '1',
         '--warmup', '0', '--no-memory', '--channels-last'],
        cwd=REPO, capture_output=True, text=True, timeout=600, check=True)
    record = json.loads(proc.stdout.strip().splitlines()[-1])
    assert record['ratio'] == record['uda'] / record['supervised']
    # --channels-last (like --bf16 and --compile) times the plain eager float32 supervised step
    # beside both; bfloat16 autocast on a CPU without bf16 units takes 16x longer (19 s vs 304 s)
    assert record['ratio_to_eager'] == record['uda'] / record['supervised_eager_fp32']
    parts = record['breakdown']
    assert parts['uda.masked'] > 0 and parts['uda.student_mix'] > 0  # MIC's third pass ran
    # the scopes and the rest (backward passes, optimiser step) account for the whole iteration
    assert sum(parts.values()) >= record['uda'] * (1 - 1e-9)
    assert 'syncs' not in record  # counted on CUDA only


def test_the_method_cost_bench_times_both_iterations_and_their_memory():
    pair, method = 'hrda-miniature', 'HRDA'  # the other pairs run the same code
    proc = subprocess.run(
        [sys.executable, 'benchmarks/method_cost_bench.py', '--pair', pair, '--iters', '1',
         '--warmup', '0'],
        cwd=REPO, capture_output=True, text=True, timeout=600, check=True)
    record = json.loads(proc.stdout.strip().splitlines()[-1])
    assert record['method'] == method
    assert record['ratio'] == record['seconds'][method] / record['seconds']['DAFormer']
    memory = record['memory']
    assert memory['ratio'] == memory[method]['peak'] / memory['DAFormer']['peak']
    assert memory[method]['peak'] > 0 and memory['DAFormer']['peak'] > 0
