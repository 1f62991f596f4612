"""carry_rate.py's `samples_carry` (its measures on 256 of the layout network's samples, fixed z)
for a generator that plain_autoencoder.py --decoder generator saved (round 21): for runs saved before that script
measured it itself.

    OMP_NUM_THREADS=1 python docs/research/blobgan-dead-blobs/saved_generator_carry.py OUT/model.safetensors
"""
import json
import sys

import torch
from safetensors.torch import load_file

torch.set_num_threads(1)
from carry_rate import samples_carry  # noqa: E402  (this folder)
from refined_labels import frozen_pipe  # noqa: E402


def main():
    pipe = frozen_pipe("zoo/blobgan-emoji-scenes-inversion")
    state = load_file(sys.argv[1])  # GeneratorAutoencoder's: encoder.* and generator.*
    pipe.generator.load_state_dict({k.removeprefix("generator."): v for k, v in state.items()
                                    if k.startswith("generator.")})
    print(json.dumps(samples_carry(pipe)))


if __name__ == "__main__":
    main()
