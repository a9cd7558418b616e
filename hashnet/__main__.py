"""`python -m hashnet <command>`: the toolkit from the shell.

python -m hashnet train --dataset moons --hidden 32 32 --epochs 30 --save net.npz
python -m hashnet warmup      # compile the Numba kernels now (they are cached afterwards)
python -m hashnet demo        # same as python -m hashnet.demo
python -m hashnet reproduce width --quick --out runs/width   # a sweep of the study
python -m hashnet phase --quick --out runs/phase             # the phase chart
python -m hashnet merge runs/a runs/b --csv all.csv          # collect records
"""

from __future__ import annotations

import argparse
import sys


def _train(args):
    import hashnet as hn
    from hashnet.codes import alone_in_pattern

    Xtr, ytr, Xte, yte = hn.datasets.load(args.dataset, n_train=args.n_train, seed=args.seed)
    n_classes = int(max(ytr.max(), yte.max())) + 1
    if args.width is not None:
        if args.hidden is not None:
            raise SystemExit("give either --hidden or --width/--depth, not both")
        shape = dict(width=args.width, depth=args.depth or 1)
    elif args.depth is not None:
        raise SystemExit("--depth needs --width (the total number of hidden units)")
    else:
        shape = dict(hidden=args.hidden or [100])
    net = hn.MLP(
        Xtr.shape[1],
        n_classes=n_classes,
        activation=args.activation,
        batchnorm=args.batchnorm,
        dropout=args.dropout,
        seed=args.seed,
        **shape,
    )
    print(f"{net}\n{len(Xtr)} training examples, {len(Xte)} test examples")
    net.fit(
        Xtr,
        ytr,
        epochs=args.epochs,
        batch_size=args.batch_size,
        optimizer=args.optimizer,
        lr=args.lr,
        weight_decay=args.weight_decay,
        lr_schedule="step" if args.step_schedule else None,
        validation_data=(Xte, yte),
        verbose=1,
    )
    alone = alone_in_pattern(net.codes(Xtr))
    print(f"test accuracy {100 * net.score(Xte, yte):.2f}%")
    print(f"training examples alone in their activation pattern: {alone.sum()} / {len(Xtr)}")
    if args.save:
        print(f"saved to {net.save(args.save)}")


def _codes(args):
    import hashnet as hn
    from hashnet.properties import encoding_properties, format_record

    Xtr, ytr, Xte, yte = hn.datasets.load(
        args.dataset, n_train=args.n_train, n_test=args.n_test, seed=args.seed
    )
    n_classes = int(max(ytr.max(), yte.max())) + 1
    net = hn.MLP(
        Xtr.shape[1], n_classes=n_classes, width=args.width, depth=args.depth, seed=args.seed
    )
    print(f"{net}\n{len(Xtr)} training examples, {len(Xte)} test examples")
    net.fit(Xtr, ytr, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, verbose=1)
    record = encoding_properties(
        net, Xtr, ytr, Xte, yte, k=args.k, seed=args.seed, drop_constant=args.drop_constant
    )
    print(format_record(record))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m hashnet", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train an MLP on a data set and report accuracy")
    train.add_argument("--dataset", default="moons", help="moons, spirals, fashion-mnist, ...")
    train.add_argument("--n-train", type=int, default=None, help="use the first n examples")
    train.add_argument("--hidden", type=int, nargs="+", help="hidden sizes (default: 100)")
    train.add_argument("--width", type=int, help="total hidden units (the study's convention)")
    train.add_argument("--depth", type=int, help="layers the width is split over (default 1)")
    train.add_argument("--activation", choices=["relu", "leaky_relu"], default="relu")
    train.add_argument("--batchnorm", action="store_true")
    train.add_argument("--dropout", type=float, default=0.0)
    train.add_argument("--epochs", type=int, default=20)
    train.add_argument("--batch-size", type=int, default=64)
    train.add_argument("--optimizer", choices=["adam", "sgd"], default="adam")
    train.add_argument("--lr", type=float, default=1e-3)
    train.add_argument("--weight-decay", type=float, default=0.0)
    train.add_argument("--step-schedule", action="store_true", help="lr x 0.1 every 20 epochs")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--save", help="write the trained model to this .npz file")

    codes = sub.add_parser("codes", help="train an MLP and print its encoding properties")
    codes.add_argument("--dataset", default="fashion-mnist-mini")
    codes.add_argument("--width", type=int, default=100, help="total hidden units")
    codes.add_argument("--depth", type=int, default=1, help="layers the width is split over")
    codes.add_argument("--epochs", type=int, default=10)
    codes.add_argument("--batch-size", type=int, default=64)
    codes.add_argument("--lr", type=float, default=1e-3)
    codes.add_argument("--n-train", type=int, default=None, help="use the first n examples")
    codes.add_argument("--n-test", type=int, default=None)
    codes.add_argument("--k", type=int, default=9, help="neighbours for K-NN")
    codes.add_argument(
        "--drop-constant",
        action="store_true",
        help="drop bits constant on the training codes before the probes",
    )
    codes.add_argument("--seed", type=int, default=0)

    sub.add_parser("warmup", help="compile the Numba kernels now")
    from hashnet.experiments.cli import add_commands, run

    add_commands(sub)  # reproduce, phase, merge (alias table)
    sub.add_parser("demo", help="run the demo (python -m hashnet.demo; same options)")

    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["demo"]:  # the demo parses its own options (--out, --quick, --seed)
        from hashnet.demo import main as demo_main

        return demo_main(argv[1:])
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is not None:
        return run(args)
    if args.command == "train":
        _train(args)
    elif args.command == "codes":
        _codes(args)
    elif args.command == "warmup":
        import hashnet

        hashnet.warmup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
