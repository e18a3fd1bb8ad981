"""AssessResult: the numbers of :func:`assess`, its verdict and its report."""

from __future__ import annotations

import base64
import html
import io
import math
from pathlib import Path

import numpy as np

#: Confidence of the intervals in the verdict.
CONFIDENCE = 0.95
_BASELINES = ("logistic_regression", "svc")


def paired_interval(diffs, n_train, n_test, confidence=CONFIDENCE):
    """Mean of paired differences over splits and its interval.

    The splits share images, so their differences are correlated and the
    plain t interval is too narrow; the variance is corrected as in Nadeau
    and Bengio (2003), by ``1/J + n_test/n_train`` instead of ``1/J`` for
    ``J`` splits. Returns ``(mean, low, high)``; low and high are nan for a
    single split.
    """
    d = np.asarray(diffs, dtype=float)
    mean = float(d.mean())
    if len(d) < 2:
        return mean, math.nan, math.nan
    from scipy import stats

    var = (1 / len(d) + n_test / n_train) * d.var(ddof=1)
    half = float(stats.t.ppf(0.5 + confidence / 2, len(d) - 1) * math.sqrt(var))
    return mean, mean - half, mean + half


def _signed(x):
    return f"{x:+.3f}"


def _interval_text(low, high, n, what="over"):
    if math.isnan(low):
        return "one split only, so no uncertainty: give more splits to get one"
    return f"95% interval {_signed(low)} to {_signed(high)} {what} {n} paired splits"


class AssessResult:
    """What :func:`assess` measured, its verdict and its report.

    Attributes
    ----------
    cells : list of dict
        One per finished fit: ``route``, ``size`` (training images),
        ``split``, ``seed``, ``score``, ``chance`` (the score of always
        answering the training set's most frequent label), ``fit_s``,
        ``predict_s``, ``epochs`` (Keras routes), ``cached``.
    routes : dict
        Per route: ``label``, ``kind`` ("baseline", "deep" or "user"),
        ``status`` ("ran", "skipped" or "failed"), ``reason`` and
        ``left_out`` (the (size, split) cells a budget left out).
    metric : str
        The metric's name.
    sizes : list of int
        Training sizes of the learning curve.
    splits : list of (dict, ndarray)
        Per split, the training indices of each size and the test indices.
    seeds : list of int
        The seed of each split (of its shuffle, and of every route on it).
    interrupted : bool
        True when Ctrl-C stopped the run (the cells are those finished).
    elapsed : float
        Seconds the call took.
    """

    def __init__(self, **fields):
        self.__dict__.update(fields)

    # ---------------------------------------------------------------- numbers

    @property
    def table(self):
        """The cells as a pandas DataFrame (a dict of arrays without pandas)."""
        columns = [
            "route",
            "size",
            "split",
            "seed",
            "score",
            "chance",
            "fit_s",
            "predict_s",
            "epochs",
            "cached",
        ]
        data = {c: [cell.get(c) for cell in self.cells] for c in columns}
        try:
            import pandas as pd
        except ImportError:
            return {c: np.asarray(v) for c, v in data.items()}
        return pd.DataFrame(data)

    def scores(self, route, size):
        """Scores of ``route`` at ``size``, one per split (nan where not run)."""
        out = np.full(self.n_splits, np.nan)
        for c in self.cells:
            if c["route"] == route and c["size"] == size:
                out[c["split"]] = c["score"]
        return out

    def _chance(self, size):
        out = np.full(self.n_splits, np.nan)
        for c in self.cells:
            if c["size"] == size:
                out[c["split"]] = c["chance"]
        return out

    def _ran(self):
        return [r for r, info in self.routes.items() if info["status"] != "skipped"]

    def summary(self):
        """Per route and size: mean and std of the score, splits, mean times."""
        rows = []
        for route in self._ran():
            for size in self.sizes:
                cs = [
                    c for c in self.cells if c["route"] == route and c["size"] == size
                ]
                if not cs:
                    continue
                s = np.array([c["score"] for c in cs])
                rows.append(
                    dict(
                        route=route,
                        size=size,
                        mean=float(s.mean()),
                        std=float(s.std()),
                        n_splits=len(cs),
                        fit_s=float(np.mean([c["fit_s"] for c in cs])),
                        predict_s=float(np.mean([c["predict_s"] for c in cs])),
                    )
                )
        return rows

    # ---------------------------------------------------------------- verdict

    @property
    def evidence(self):
        """The numbers behind the verdict, as a dict."""
        return self._judge()[1]

    @property
    def verdict(self):
        """The answer in plain words (a few lines)."""
        return self._judge()[0]

    def _compare(self, a, b, size):
        """Paired (mean, low, high, n) of a - b at ``size`` (b may be "chance")."""
        sa = self.scores(a, size)
        sb = self._chance(size) if b == "chance" else self.scores(b, size)
        both = ~np.isnan(sa) & ~np.isnan(sb)
        if not both.any():
            return None
        n_test = len(self.splits[0][1])
        mean, low, high = paired_interval(sa[both] - sb[both], size, n_test)
        return mean, low, high, int(both.sum())

    def _judge(self):
        ev = {"metric": self.metric}
        label = {r: info["label"] for r, info in self.routes.items()}
        lines = []
        # The largest size every route that ran reached (a budget may stop some).
        at = {}
        for r in self._ran():
            done = [c["size"] for c in self.cells if c["route"] == r]
            if done:
                at[r] = max(done)
        if not at:
            text = "No route finished a fit"
            if self.interrupted:
                text += " before the run was interrupted"
            elif self.budget is not None:
                text += " within the budget"
            return text + ": there is nothing to compare.", ev
        size = max(at.values())
        compared = [r for r in at if at[r] == size]
        ev["size"] = size
        means = {r: float(np.nanmean(self.scores(r, size))) for r in compared}
        chance = float(np.nanmean(self._chance(size)))
        ev["chance"] = chance
        ev["means"] = means
        above = {}
        for r in compared:
            cmp = self._compare(r, "chance", size)
            above[r] = cmp
        ev["versus_chance"] = above

        n_test = len(self.splits[0][1])

        def needed(n):
            # Too few splits for an interval from their spread: the binomial
            # spread of a score on n x n_test test images, one-sided at 1%.
            p = min(max(chance, 1 / n_test), 1 - 1 / n_test)
            return 2.33 * math.sqrt(p * (1 - p) / (n * n_test))

        def beats(cmp):
            mean, low, _high, n = cmp
            return low > 0 if n >= 3 else mean > needed(n)

        def versus_chance(cmp):
            mean, low, high, n = cmp
            if n >= 3:
                return f"{_signed(mean)}, {_interval_text(low, high, n)}"
            return (
                f"{_signed(mean)}; with {n} split{'s' if n > 1 else ''} of "
                f"{n_test} test images, beating chance takes more than "
                f"{_signed(needed(n))}"
            )

        winners = [r for r in compared if beats(above[r])]
        best = max(compared, key=means.get)
        ev["best"] = best
        m = self.metric.replace("_", " ")
        if not winners:
            ev["beats_chance"] = False
            lines.append(
                f"No route beats chance. At {size} training images the best, "
                f"{label[best]}, scores {means[best]:.3f} {m} against "
                f"{chance:.3f} for always answering the most frequent label "
                f"({versus_chance(above[best])})."
            )
            lines.append(
                "The labels may not be learnable from these images at this "
                "size, or they may be noisy: check a sample of labelled images "
                "before adding data or models."
            )
            return self._finish(lines, ev, label), ev
        ev["beats_chance"] = True
        baselines = [r for r in compared if r in _BASELINES]
        others = [r for r in compared if r not in _BASELINES]
        if not baselines:
            lines.append(
                f"{label[best]} wins at {size} training images with {means[best]:.3f} "
                f"{m} (chance {chance:.3f}); no classic baseline finished at that "
                "size, so there is no comparison with one."
            )
        else:
            base = max(baselines, key=means.get)
            ev["best_baseline"] = base
            if best in _BASELINES:
                text = (
                    f"{label[best]} wins at {size} training images with "
                    f"{means[best]:.3f} {m} (chance {chance:.3f})."
                )
                if others:
                    rival = max(others, key=means.get)
                    mean, low, high, n = self._compare(rival, base, size)
                    ev["margin"] = (rival, mean, low, high, n)
                    text += (
                        f" The best deep-learning route, {label[rival]}, scores "
                        f"{means[rival]:.3f} ({_signed(mean)}; "
                        f"{_interval_text(low, high, n)})."
                    )
                    better = "better" if n >= 2 and high < 0 else "as good"
                    text += (
                        " Deep learning does not pay here (yet): the classic "
                        f"baseline is {better}{self._cheaper(base, rival, size)}."
                    )
                lines.append(text)
            else:
                mean, low, high, n = self._compare(best, base, size)
                ev["margin"] = (best, mean, low, high, n)
                head = (
                    f"{label[best]} wins at {size} training images with "
                    f"{means[best]:.3f} {m}, {_signed(mean)} over the best classic "
                    f"baseline ({label[base]}, {means[base]:.3f}; "
                    f"{_interval_text(low, high, n)})."
                )
                if n >= 2 and low > 0:
                    head += " Deep learning pays here."
                elif n >= 2:
                    head += (
                        " The gain is within the uncertainty: deep learning is not "
                        "clearly better here, and the baseline is the cheaper choice."
                    )
                else:
                    head += " With one split, this is not yet evidence."
                lines.append(head)
        losers = [r for r in compared if r not in winners]
        if losers:
            lines.append(
                "Not better than chance: "
                + ", ".join(label[r] for r in losers)
                + f" (chance {chance:.3f})."
            )
        self._curve(best, size, lines, ev, label)
        if "best_baseline" in ev and ev["best_baseline"] != best:
            self._curve(ev["best_baseline"], size, lines, ev, label)
        return self._finish(lines, ev, label), ev

    def _fit_seconds(self, route, size):
        times = [
            c["fit_s"] for c in self.cells if c["route"] == route and c["size"] == size
        ]
        return float(np.mean(times)) if times else math.nan

    def _cheaper(self, base, rival, size):
        ratio = self._fit_seconds(rival, size) / self._fit_seconds(base, size)
        return f", and {ratio:.0f} times faster to fit" if ratio >= 2 else ""

    def _curve(self, route, size, lines, ev, label):
        """Is the curve of ``route`` still rising at ``size``?"""
        smaller = [
            s
            for s in self.sizes
            if s < size and not np.isnan(self.scores(route, s)).all()
        ]
        if not smaller:
            return
        prev = max(smaller)
        sa, sb = self.scores(route, size), self.scores(route, prev)
        both = ~np.isnan(sa) & ~np.isnan(sb)
        if not both.any():
            return
        doublings = math.log2(size / prev)
        mean, low, high = paired_interval(
            (sa[both] - sb[both]) / doublings, size, len(self.splits[0][1])
        )
        n = int(both.sum())
        ev.setdefault("per_doubling", {})[route] = (prev, size, mean, low, high, n)
        what = "per doubling of the labels" if abs(doublings - 1) > 0.05 else ""
        gain = f"{_signed(mean)}{' ' + what if what else ''}"
        rising = (low > 0) if n >= 2 else (mean > 0.01)
        if rising:
            lines.append(
                f"The curve of {label[route]} is still rising: from {prev} to "
                f"{size} training images it gained {gain} "
                f"({_interval_text(low, high, n)}). Doubling the labels is likely "
                f"to add about {mean:+.3f} more, or somewhat less."
            )
        elif n >= 2:
            lines.append(
                f"The curve of {label[route]} is not clearly rising: from {prev} "
                f"to {size} training images it changed by {gain} "
                f"({_interval_text(low, high, n)}). Doubling the labels is likely "
                f"to add at most about {max(high, 0):+.3f}."
            )
        else:
            lines.append(
                f"The curve of {label[route]} is flat: from {prev} to {size} "
                f"training images it changed by {gain} (one split only)."
            )

    def _finish(self, lines, ev, label):
        out = list(lines)
        skipped = {}  # one line per reason (the transfer routes share theirs)
        for r, info in self.routes.items():
            if info["status"] == "skipped":
                skipped.setdefault(info["reason"], []).append(label[r])
        for reason, names in skipped.items():
            out.append(f"Not compared: {' and '.join(names)} (skipped: {reason}).")
        for r, info in self.routes.items():
            if info["status"] == "failed":
                out.append(f"{label[r]} failed ({info['reason']}); the others went on.")
        if self.interrupted:
            out.append("The run was interrupted: these are the cells finished so far.")
        left = sum(len(info["left_out"]) for info in self.routes.values())
        if left:
            out.append(
                f"The budget left out {left} of the planned fits (listed in the "
                "report); give more time to fill them."
            )
        return "\n".join(out)

    # ---------------------------------------------------------------- report

    def plot(self, ax=None):
        """Learning curves: mean score over splits (bars: min to max) per route.

        Returns the matplotlib Axes.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6.4, 4.2))
        for k, route in enumerate(self._ran()):
            sizes, mean, low, high = [], [], [], []
            for size in self.sizes:
                s = self.scores(route, size)
                s = s[~np.isnan(s)]
                if len(s):
                    sizes.append(size)
                    mean.append(s.mean())
                    low.append(s.mean() - s.min())
                    high.append(s.max() - s.mean())
            if not sizes:
                continue
            style = "--" if route in _BASELINES else "-"
            ax.errorbar(
                sizes,
                mean,
                yerr=[low, high],
                fmt=style + "o",
                ms=4,
                capsize=3,
                label=self.routes[route]["label"],
                color=plt.cm.tab10.colors[k % 10],
            )
        chance = [(s, self._chance(s)) for s in self.sizes]
        chance = [
            (s, c[~np.isnan(c)].mean()) for s, c in chance if (~np.isnan(c)).any()
        ]
        if chance:
            ax.plot(*zip(*chance, strict=True), ":", color="gray", label="chance")
        ax.set_xscale("log", base=2)
        ax.set_xticks(self.sizes)
        ax.set_xticklabels([str(s) for s in self.sizes])
        ax.minorticks_off()
        ax.set_xlabel("training images")
        ax.set_ylabel(f"test {self.metric.replace('_', ' ')}")
        ax.set_title("Learning curves (same splits for every route)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        return ax

    def _figure_png(self):
        """The learning-curve figure as PNG bytes, or None without matplotlib."""
        try:
            import matplotlib

            matplotlib.use("Agg", force=False)
            import matplotlib.pyplot as plt
        except ImportError:
            return None
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        try:
            self.plot(ax)
            fig.tight_layout()
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", dpi=100)
        finally:
            plt.close(fig)
        return buffer.getvalue()

    def _header(self):
        task = (
            f"multi-label, {len(self.classes)} labels"
            if self.multilabel
            else f"{len(self.classes)} classes"
        )
        h, w, c = self.image_shape
        lines = [
            f"Data: {self.description}: {self.n_samples} images, {task}.",
            f"Metric: {self.metric.replace('_', ' ')} ({self.metric_reason}).",
            f"Protocol: {self.n_splits} stratified train/test splits "
            f"({self.test_size:.0%} held out, seeds {self.seeds[0]} to "
            f"{self.seeds[-1]}), the same for every route; pixel routes at "
            f"{h}x{w} {'gray' if c == 1 else 'RGB'}.",
        ]
        budget = f" of a {self.budget:.0f} s budget" if self.budget is not None else ""
        lines.append(f"Time: {self.elapsed:.0f} s{budget}.")
        return lines

    def _table_rows(self):
        header = ["route"] + [f"n={s}" for s in self.sizes] + ["fit s", "predict s"]
        rows = []
        for route in self.routes:
            info = self.routes[route]
            if info["status"] == "skipped":
                continue
            cells = []
            for size in self.sizes:
                s = self.scores(route, size)
                s = s[~np.isnan(s)]
                cells.append(
                    f"{s.mean():.3f} ± {s.std():.3f}"
                    if len(s) > 1
                    else (f"{s[0]:.3f}" if len(s) else "-")
                )
            full = [
                c
                for c in self.cells
                if c["route"] == route
                and c["size"]
                == max(
                    (c2["size"] for c2 in self.cells if c2["route"] == route), default=0
                )
            ]
            fit = f"{np.mean([c['fit_s'] for c in full]):.1f}" if full else "-"
            pred = f"{np.mean([c['predict_s'] for c in full]):.2f}" if full else "-"
            name = info["label"] + (" (failed)" if info["status"] == "failed" else "")
            rows.append([name, *cells, fit, pred])
        chance = []
        for size in self.sizes:
            c = self._chance(size)
            c = c[~np.isnan(c)]
            chance.append(f"{c.mean():.3f}" if len(c) else "-")
        rows.append(["chance (most frequent label)", *chance, "", ""])
        return header, rows

    def _route_lines(self):
        out = []
        for route, info in self.routes.items():
            if info["status"] == "skipped":
                out.append(f"{info['label']}: skipped. {info['reason']}.")
            elif info["status"] == "failed":
                out.append(f"{info['label']}: failed: {info['reason']}")
            else:
                done = sum(1 for c in self.cells if c["route"] == route)
                cached = sum(
                    1 for c in self.cells if c["route"] == route and c["cached"]
                )
                text = f"{info['label']}: {done} fits"
                if cached:
                    text += f" ({cached} from the cache)"
                epochs = sorted(
                    {
                        c["epochs"]
                        for c in self.cells
                        if c["route"] == route and c.get("epochs")
                    }
                )
                if epochs:
                    text += f", epochs {', '.join(map(str, epochs))}"
                if info["left_out"]:
                    cells = ", ".join(
                        f"n={s} split {j + 1}" for s, j in info["left_out"]
                    )
                    text += f"; left out by the budget: {cells}"
                out.append(text + ".")
        return out

    def _protocol_text(self):
        return (
            "Each route is fitted on nested stratified subsets of each split's "
            "training part (the smaller inside the larger) and scored on the "
            "split's test part. Table cells are the mean ± standard deviation "
            "over splits; times are seconds per fit at the largest size. "
            "Intervals are 95% intervals of the paired differences over the "
            "splits, widened for the overlap of the training sets (Nadeau and "
            "Bengio's corrected resampled t-test). 'Chance' always answers the "
            "training set's most frequent label."
        )

    def to_markdown(self, figure="learning_curve.png"):
        """The report as Markdown; ``figure`` is the PNG's file name (or None)."""
        out = ["# Is deep learning worth it for these images?", ""]
        out += [f"- {line}" for line in self._header()]
        out += ["", "## Verdict", ""]
        out += [line + "\n" for line in self.verdict.splitlines()]
        header, rows = self._table_rows()
        out += ["## Scores", ""]
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "---|" * len(header))
        out += ["| " + " | ".join(row) + " |" for row in rows]
        if figure:
            out += ["", f"![Learning curves]({figure})"]
        out += ["", "## Routes", ""]
        out += [f"- {line}" for line in self._route_lines()]
        out += [f"- {note}" for note in self.notes]
        out += ["", "## Protocol", "", self._protocol_text(), ""]
        return "\n".join(out)

    def to_html(self):
        """The report as one self-contained HTML page (the figure inside)."""
        e = html.escape
        png = self._figure_png()
        header, rows = self._table_rows()
        parts = [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            "<title>Is deep learning worth it for these images?</title>",
            "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;"
            "line-height:1.4}table{border-collapse:collapse}td,th{border:1px solid "
            "#ccc;padding:.3em .6em;text-align:right}td:first-child,th:first-child"
            "{text-align:left}.verdict{background:#f4f8ff;padding:.6em 1em;"
            "border-left:4px solid #36c}</style></head><body>",
            "<h1>Is deep learning worth it for these images?</h1>",
            "<ul>" + "".join(f"<li>{e(x)}</li>" for x in self._header()) + "</ul>",
            '<h2>Verdict</h2><div class="verdict">'
            + "".join(f"<p>{e(x)}</p>" for x in self.verdict.splitlines())
            + "</div>",
            "<h2>Scores</h2><table><tr>"
            + "".join(f"<th>{e(h)}</th>" for h in header)
            + "</tr>"
            + "".join(
                "<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>"
                for row in rows
            )
            + "</table>",
        ]
        if png is not None:
            data = base64.b64encode(png).decode("ascii")
            parts.append(
                f'<p><img alt="Learning curves" src="data:image/png;base64,{data}"></p>'
            )
        else:
            parts.append("<p>(Install matplotlib for the learning-curve figure.)</p>")
        parts.append(
            "<h2>Routes</h2><ul>"
            + "".join(f"<li>{e(x)}</li>" for x in self._route_lines() + self.notes)
            + "</ul>"
        )
        parts.append(f"<h2>Protocol</h2><p>{e(self._protocol_text())}</p>")
        parts.append("</body></html>")
        return "\n".join(parts)

    def save(self, path):
        """Write the report: ``.html`` (self-contained) or ``.md`` (with a PNG).

        Returns the list of files written.
        """
        path = Path(path)
        if path.suffix.lower() in (".html", ".htm"):
            path.write_text(self.to_html(), encoding="utf-8")
            return [path]
        if path.suffix.lower() != ".md":
            raise ValueError(f"the report must be a .html or .md file; got {path}")
        png = self._figure_png()
        figure = path.with_suffix(".png") if png is not None else None
        if figure is not None:
            figure.write_bytes(png)
        path.write_text(
            self.to_markdown(figure.name if figure else None), encoding="utf-8"
        )
        return [path] + ([figure] if figure else [])

    def __repr__(self):
        done = len(self.cells)
        return (
            f"<AssessResult: {len(self._ran())} routes, sizes {self.sizes}, "
            f"{self.n_splits} splits, {done} fits, metric {self.metric}>"
        )

    def __str__(self):
        return self.verdict
