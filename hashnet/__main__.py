"""`python -m hashnet <command>`: the toolkit from the shell.

python -m hashnet train --dataset moons --hidden 32 32 --epochs 30 --save net.npz
python -m hashnet warmup      # compile the Numba kernels now (they are cached afterwards)
python -m hashnet demo        # same as python -m hashnet.demo
python -m hashnet reproduce width --quick --out runs/width   # a sweep of the study
python -m hashnet phase --quick --out runs/phase             # the phase chart
python -m hashnet merge runs/a runs/b --csv all.csv          # collect records

Arguments are checked before any work; a bad one is reported in one `error: ...` line on
stderr with exit status 2 (--debug, before or after the command, shows the traceback).
"""

from __future__ import annotations

import sys

from hashnet.experiments.cli import (
    ArgumentParser,
    UsageError,
    add_commands,
    add_debug,
    check_output_file,
    integer,
    real,
    run_main,
)


def _shape(args, default_hidden=None) -> dict:
    """The hidden layers asked for: --hidden sizes, or --width split over --depth layers."""
    if args.width is not None:
        if getattr(args, "hidden", None) is not None:
            raise UsageError("give either --hidden or --width/--depth, not both")
        depth = args.depth or 1
        if args.width < depth:
            raise UsageError(
                f"--width {args.width} is fewer hidden units than --depth {depth} layers"
            )
        return dict(width=args.width, depth=depth)
    if args.depth is not None:
        raise UsageError("--depth needs --width (the total number of hidden units)")
    return dict(hidden=args.hidden or default_hidden)


def _train(args):
    shape = _shape(args, default_hidden=[100])
    if args.save:
        check_output_file(args.save, "--save")

    import hashnet as hn
    from hashnet.codes import alone_in_pattern

    Xtr, ytr, Xte, yte = hn.datasets.load(args.dataset, n_train=args.n_train, seed=args.seed)
    n_classes = int(max(ytr.max(), yte.max())) + 1
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
    shape = _shape(args)

    import hashnet as hn
    from hashnet.properties import encoding_properties, format_record

    Xtr, ytr, Xte, yte = hn.datasets.load(
        args.dataset, n_train=args.n_train, n_test=args.n_test, seed=args.seed
    )
    if args.k > len(Xtr):  # K-NN runs after training: say it now
        raise UsageError(f"--k {args.k} is more than the {len(Xtr)} training examples")
    n_classes = int(max(ytr.max(), yte.max())) + 1
    net = hn.MLP(Xtr.shape[1], n_classes=n_classes, seed=args.seed, **shape)
    print(f"{net}\n{len(Xtr)} training examples, {len(Xte)} test examples")
    net.fit(Xtr, ytr, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, verbose=1)
    record = encoding_properties(
        net, Xtr, ytr, Xte, yte, k=args.k, seed=args.seed, drop_constant=args.drop_constant
    )
    print(format_record(record))


def _warmup(args):
    import hashnet

    hashnet.warmup()


def _parser():
    parser = ArgumentParser(prog="python -m hashnet", description=__doc__.split("\n")[0])
    add_debug(parser, top=True)
    sub = parser.add_subparsers(dest="command", required=True)

    count, positive = integer(1), real(0, low_open=True)
    train = sub.add_parser("train", help="train an MLP on a data set and report accuracy")
    train.add_argument("--dataset", default="moons", help="moons, spirals, fashion-mnist, ...")
    train.add_argument("--n-train", type=count, default=None, help="use the first n examples")
    train.add_argument("--hidden", type=count, nargs="+", help="hidden sizes (default: 100)")
    train.add_argument("--width", type=count, help="total hidden units (the study's convention)")
    train.add_argument("--depth", type=count, help="layers the width is split over (default 1)")
    train.add_argument("--activation", choices=["relu", "leaky_relu"], default="relu")
    train.add_argument("--batchnorm", action="store_true")
    train.add_argument("--dropout", type=real(0, 1, high_open=True), default=0.0)
    train.add_argument("--epochs", type=integer(0), default=20)
    train.add_argument("--batch-size", type=count, default=64)
    train.add_argument("--optimizer", choices=["adam", "sgd"], default="adam")
    train.add_argument("--lr", type=positive, default=1e-3)
    train.add_argument("--weight-decay", type=real(0), default=0.0)
    train.add_argument("--step-schedule", action="store_true", help="lr x 0.1 every 20 epochs")
    train.add_argument("--seed", type=integer(0), default=0)
    train.add_argument("--save", help="write the trained model to this .npz file")
    add_debug(train)
    train.set_defaults(handler=_train)

    codes = sub.add_parser("codes", help="train an MLP and print its encoding properties")
    codes.add_argument("--dataset", default="fashion-mnist-mini")
    codes.add_argument("--width", type=count, default=100, help="total hidden units")
    codes.add_argument("--depth", type=count, default=1, help="layers the width is split over")
    codes.add_argument("--epochs", type=integer(0), default=10)
    codes.add_argument("--batch-size", type=count, default=64)
    codes.add_argument("--lr", type=positive, default=1e-3)
    codes.add_argument("--n-train", type=count, default=None, help="use the first n examples")
    codes.add_argument("--n-test", type=count, default=None)
    codes.add_argument("--k", type=count, default=9, help="neighbours for K-NN")
    codes.add_argument(
        "--drop-constant",
        action="store_true",
        help="drop bits constant on the training codes before the probes",
    )
    codes.add_argument("--seed", type=integer(0), default=0)
    add_debug(codes)
    codes.set_defaults(handler=_codes)

    warmup = sub.add_parser("warmup", help="compile the Numba kernels now")
    add_debug(warmup)
    warmup.set_defaults(handler=_warmup)
    add_commands(sub)  # reproduce, phase, merge (alias table)
    sub.add_parser("demo", help="run the demo (python -m hashnet.demo; same options)")
    return parser


def main(argv=None) -> int:
    """Run a command; returns the exit status (2, with one `error: ...` line, for bad
    arguments)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = argv[:1] == ["--debug"]
    command = argv[1:] if debug else argv
    if command[:1] == ["demo"]:  # the demo parses its own options (--out, --quick, --seed)
        from hashnet.demo import main as demo_main

        return demo_main(command[1:] + (["--debug"] if debug else []))
    return run_main(_parser(), argv, lambda args: args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
