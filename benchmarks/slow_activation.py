"""A custom activation made deliberately slow for benchmarks/bench_member_time.py: ReLU after forty extra
elementwise sines per unit, each weighted by 1e-9 so its values are ReLU's to float rounding."""

import keras


def slow_relu(x):
    y = x
    for _ in range(40):
        y = y + 1e-9 * keras.ops.sin(y)
    return keras.ops.relu(y)
