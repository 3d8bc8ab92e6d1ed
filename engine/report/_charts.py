"""The report's charts: matplotlib figures of already-aggregated numbers, as inline SVG.

Each function takes a piece of :func:`~engine.report.report_numbers`' output (never rows) and
returns a :class:`Chart`: the SVG markup (text kept as text, so it is small, selectable and read
by screen readers), a title, axis labels and a one-paragraph text alternative. Colours are the
Okabe-Ito palette and the cividis colour map, both readable with the common colour-vision
deficiencies. matplotlib runs on its non-interactive SVG backend: nothing touches a display.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["PALETTE", "Chart", "render_charts"]

#: Okabe & Ito (2008), "Color Universal Design": distinguishable with any common colour deficiency.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
TIER_COLOURS = {"A": "#0072B2", "B": "#E69F00", "C": "#009E73"}
HEAT_MAP = "cividis"
DIVERGING = "PuOr_r"  # purple (fall) to orange (rise): safe for red-green deficiencies


@dataclass(frozen=True)
class Chart:
    """One chart of the report.

    Attributes
    ----------
    key : str
        Stable identifier (also the ``id`` of its ``<figure>``).
    title, x_label, y_label : str
    description : str
        The text alternative: what the chart shows, in figures.
    svg : str
        Inline ``<svg>`` markup with ``role="img"``, ``<title>`` and ``<desc>``.
    """

    key: str
    title: str
    x_label: str
    y_label: str
    description: str
    svg: str


def _style() -> Any:  # matplotlib types rc keys as a Literal of every setting
    return {
        "svg.fonttype": "none",  # text stays text: a fraction of the size of glyph outlines
        "font.family": "sans-serif",
        "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica", "sans-serif"],
        "font.size": 9,
        "axes.titlesize": 10,
        "axes.titleweight": "bold",
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.prop_cycle": __import__("cycler").cycler(color=list(PALETTE)),
        "figure.dpi": 72,
        "svg.hashsalt": "kam",
    }


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _to_svg(fig, key: str, title: str, description: str) -> str:
    """The figure as inline SVG: no XML prolog, scalable, titled and described for readers."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": key}):
        # Laid out by tight_layout already: no bbox_inches="tight" (it draws the figure twice).
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.DOTALL)
    # Element ids must be unique in the page: prefix matplotlib's own with the chart key.
    svg = re.sub(r'id="([^"]+)"', lambda m: f'id="{key}-{m.group(1)}"', svg)
    svg = re.sub(r'(url\(#|xlink:href="#|href="#)([^")]+)', lambda m: f"{m.group(1)}{key}-{m.group(2)}", svg)
    head_end = svg.index(">")
    head = svg[:head_end]
    head = re.sub(r'\s(width|height)="[^"]*"', "", head)
    head += (f' role="img" aria-labelledby="{key}-title {key}-desc" preserveAspectRatio="xMidYMid meet"'
             f' class="chart-svg"')
    return (f"{head}><title id=\"{key}-title\">{_escape(title)}</title>"
            f"<desc id=\"{key}-desc\">{_escape(description)}</desc>{svg[head_end + 1:]}")


def _money(value: float) -> str:
    sign = "-" if value < 0 else ""
    value = abs(value)
    for limit, suffix in ((1e9, " bn"), (1e6, " m"), (1e3, " k")):
        if value >= limit:
            return f"{sign}CNY {value / limit:,.1f}{suffix}"
    return f"{sign}CNY {value:,.0f}"


def _money_axis(axis) -> None:
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(lambda v, _: _money(v).replace("CNY ", "")))


def _figure(width: float = 7.0, height: float = 3.6, **kwargs):
    """A figure of its own (no pyplot: no global state, no GUI backend, nothing to close)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    return fig, fig.subplots(**kwargs)


def _label(text: str) -> str:
    return text.replace("_", " ")


# --- charts --------------------------------------------------------------------------------------
def _finish(
    fig: Any,
    ax: Any,
    key: str,
    title: str,
    description: str,
    *,
    x: str,
    y: str,
    short_x: str | None = None,
    short_y: str | None = None,
    legend: dict[str, Any] | None = None,
) -> Chart:
    """Label, title and lay out a one-axes chart and render it: every chart ends this way.

    ``x`` and ``y`` are the axis labels drawn; the :class:`Chart` records them too, or the
    shorter ``short_x``/``short_y`` where the drawn label is a sentence. ``legend`` (options
    such as ``loc``) draws the legend, frameless in small type like every legend of the report.
    """
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(title)
    if legend is not None:
        ax.legend(frameon=False, fontsize=8, **legend)
    fig.tight_layout()
    return Chart(key, title, short_x or x, short_y or y, description, _to_svg(fig, key, title, description))


def _bar_totals(ax: Any, totals: Any) -> None:
    """Each vertical bar's total written just above it."""
    for x, total in enumerate(totals):
        ax.annotate(f"{total:,}", (x, total), xytext=(0, 2), textcoords="offset points", ha="center", fontsize=8,
                    in_layout=False)


def _region_bars(rows: list[dict[str, Any]]) -> tuple[Any, Any, np.ndarray]:
    """Figure for horizontal value-at-risk bars, one per region (the first row at the top).

    Returns the figure, its axes and the bars' y positions; the regions are on the y axis and
    the x axis reads as money.
    """
    fig, ax = _figure(6.5, 0.28 * len(rows) + 1.4)
    y = np.arange(len(rows))
    ax.set_yticks(y, [_label(r["region"]) for r in rows])
    _money_axis(ax.xaxis)
    return fig, ax, y


def tier_pyramid(tiers: dict[str, Any]) -> Chart:
    rows = list(reversed(tiers["rows"]))  # A on top
    names = [r["tier"] for r in rows]
    accounts = [r["accounts"] for r in rows]
    revenue = [r["revenue"] for r in rows]
    measure = "12-month revenue" if tiers["revenue_recorded"] else "revenue (not recorded in this run)"
    fig, (left, right) = _figure(7.5, 2.8, ncols=2, sharey=True)
    colours = [TIER_COLOURS.get(n, PALETTE[3]) for n in names]
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    left.barh(names, accounts, color=colours)
    left.invert_xaxis()
    left.xaxis.set_major_locator(MaxNLocator(3))
    right.xaxis.set_major_locator(MaxNLocator(3))
    left.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    left.margins(x=0.35)
    right.margins(x=0.35)
    left.set_xlabel("accounts")
    left.set_ylabel("tier")
    left.set_title("Accounts per tier")
    right.barh(names, revenue, color=colours)
    right.set_xlabel(f"{measure} (CNY)")
    right.set_title(f"{measure.capitalize()} per tier")
    _money_axis(right.xaxis)
    for ax, values, fmt in ((left, accounts, lambda v: f"{v:,}"), (right, revenue, _money)):
        for y, v in enumerate(values):
            ax.annotate(fmt(v), (v, y), xytext=(3 if ax is right else -3, 0), textcoords="offset points",
                        ha="left" if ax is right else "right", va="center", fontsize=8, in_layout=False)
    fig.tight_layout()
    title = "Tier pyramid: accounts and 12-month revenue per tier"
    parts = [f"tier {r['tier']}: {r['accounts']:,} accounts ({(r['account_share'] or 0):.1%}), "
             f"{_money(r['revenue'])} revenue ({(r['revenue_share'] or 0):.1%})" for r in tiers["rows"]]
    description = "Left: accounts per tier; right: 12-month revenue per tier. " + "; ".join(parts) + "."
    return Chart("chart-tier-pyramid", title, "accounts / revenue (CNY)", "tier", description,
                 _to_svg(fig, "chart-tier-pyramid", title, description))


def pareto(tiers: dict[str, Any]) -> Chart:
    curve = tiers["pareto"]
    measure = tiers["pareto_measure"]
    fig, ax = _figure(6.0, 3.6)
    x = np.asarray(curve["account_share"], dtype=float) * 100
    y = np.asarray([v if v is not None else np.nan for v in curve["revenue_share"]], dtype=float) * 100
    ax.plot(x, y, color=PALETTE[0], linewidth=2, label=f"cumulative share of {measure}")
    ax.plot([0, 100], [0, 100], color="#777777", linestyle=":", linewidth=1, label="equal shares")
    top20 = curve["top20_revenue_share"]
    if top20 is not None:
        ax.axvline(20, color=PALETTE[5], linestyle="--", linewidth=1)
        ax.plot([20], [top20 * 100], marker="o", color=PALETTE[5], markersize=7,
                label=f"20/80 point: top 20% of accounts hold {top20:.0%}")
    for80 = curve["accounts_for_80"]
    if for80 is not None:
        ax.axhline(80, color=PALETTE[1], linestyle="--", linewidth=1)
        ax.plot([for80 * 100], [80], marker="s", color=PALETTE[1], markersize=6,
                label=f"80% of it from the top {for80:.0%} of accounts")
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 101)
    title = f"Pareto curve of {measure} by account (20/80 point marked)"
    description = (
        f"Accounts sorted by {measure}, largest first, against the cumulative share of {measure}. "
        + (f"The top 20% of accounts hold {top20:.1%} of it; " if top20 is not None else "No revenue recorded; ")
        + (f"80% of it comes from {for80:.1%} of the accounts." if for80 is not None else "")
    )
    return _finish(fig, ax, "chart-pareto", title, description, x="share of accounts, largest first (%)",
                   y=f"cumulative share of {measure} (%)", short_x="share of accounts (%)", legend={"loc": "lower right"})


def _heat(ax, matrix, rows, columns, fmt, cmap=HEAT_MAP, centre: bool = False, labels: bool = True):
    data = np.asarray(matrix, dtype=float)
    # Vector cells (pcolormesh), not an embedded bitmap: sharp at any zoom and on paper.
    limits = {}
    if centre:
        limit = float(np.nanmax(np.abs(data))) if data.size and np.isfinite(data).any() else 0.0
        limits = {"vmin": -(limit or 1.0), "vmax": limit or 1.0}
    image = ax.pcolormesh(data, cmap=cmap, edgecolors="white", linewidth=0.5, **limits)
    ax.set_xlim(0, data.shape[1])
    ax.set_ylim(data.shape[0], 0)
    ax.set_xticks(np.arange(len(columns)) + 0.5, [_label(c) for c in columns], rotation=40, ha="right")
    ax.set_yticks(np.arange(len(rows)) + 0.5, [_label(r) for r in rows])
    ax.tick_params(length=0)
    norm = image.norm
    for i in range(data.shape[0] if labels else 0):
        for j in range(data.shape[1]):
            value = data[i, j]
            shade = float(norm(value)) if np.isfinite(value) else 0.0
            dark = shade > 0.75 if centre else shade < 0.55
            # Cell labels stay inside their cells: leaving them out of the layout spares
            # measuring hundreds of texts again and again.
            ax.text(j + 0.5, i + 0.5, fmt(value), ha="center", va="center", fontsize=7, in_layout=False,
                    color="white" if dark or (centre and shade < 0.25) else "black")
    ax.spines[:].set_visible(False)
    return image


def tier_moves(moves: dict[str, Any]) -> Chart:
    fig, ax = _figure(4.4, 3.0)
    image = _heat(ax, moves["counts"], moves["from"], moves["to"], lambda v: f"{v:,.0f}")
    fig.colorbar(image, ax=ax, label="accounts", shrink=0.8)
    title = "Tier moves since the comparison run"
    top = "; ".join(f"{m['from']} to {m['to']}: {m['accounts']:,}" for m in moves["moved"][:6]) or "no account moved"
    description = (f"Accounts by tier in run {moves['compared_with']} (rows) and in this run (columns). "
                   f"{moves['moved_total']:,} accounts changed tier. Largest moves: {top}.")
    return _finish(fig, ax, "chart-tier-moves", title, description, x="tier in this run",
                   y=f"tier in run {moves['compared_with']}", short_y="tier in the comparison run")


TERRITORY_MEASURES = {
    "value_at_risk": ("value at risk", "CNY"),
    "accounts": ("accounts", "accounts"),
    "revenue": ("12-month revenue", "CNY"),
}


def territories(terr: dict[str, Any], measure: str) -> Chart:
    """One heat map of region x industry for ``measure`` (accounts, revenue or value_at_risk)."""
    name, unit = TERRITORY_MEASURES[measure]
    fmt = (lambda v: f"{v:,.0f}") if unit == "accounts" else (lambda v: _money(v).replace("CNY ", ""))
    fig, ax = _figure(0.42 * len(terr["industries"]) + 2.8, 0.24 * len(terr["regions"]) + 1.8)
    # Figures in the cells of the main map only: hundreds of texts per map are most of the
    # drawing time, and the accounts and revenue maps are read by their colours.
    image = _heat(ax, terr[measure], terr["regions"], terr["industries"], fmt, labels=measure == "value_at_risk")
    fig.colorbar(image, ax=ax, label=f"{name} ({unit})", shrink=0.8,
                 format=__import__("matplotlib.ticker", fromlist=["FuncFormatter"]).FuncFormatter(lambda v, _: fmt(v)))
    title = f"{name.capitalize()} by region and industry"
    data = np.asarray(terr[measure], dtype=float)
    flat = np.argsort(-data, axis=None)[:5]
    cells = "; ".join(f"{_label(terr['regions'][i // data.shape[1]])} / {_label(terr['industries'][i % data.shape[1]])}: "
                      f"{fmt(data.flat[i])}" for i in flat)
    description = (f"Heat map of {name} over {len(terr['regions'])} regions (rows) and {len(terr['industries'])} "
                   f"industries (columns); lighter is more. Total {fmt(float(data.sum()))}. Largest cells: {cells}.")
    key = f"chart-territory-{measure.replace('_', '-')}"
    return _finish(fig, ax, key, title, description, x="industry", y="region")


def territory_change(terr: dict[str, Any], compared_with: str) -> Chart:
    fig, ax = _figure(0.42 * len(terr["industries"]) + 2.8, 0.24 * len(terr["regions"]) + 1.8)
    image = _heat(ax, terr["change_value_at_risk"], terr["regions"], terr["industries"],
                  lambda v: _money(v).replace("CNY ", ""), cmap=DIVERGING, centre=True, labels=False)
    fig.colorbar(image, ax=ax, label="change in value at risk (CNY)", shrink=0.8)
    title = f"Change in value at risk by territory since run {compared_with}"
    data = np.asarray(terr["change_value_at_risk"], dtype=float)
    i, j = np.unravel_index(np.nanargmax(data), data.shape)
    k, m = np.unravel_index(np.nanargmin(data), data.shape)
    description = (f"Value at risk now minus value at risk in run {compared_with}, per region and industry; "
                   f"orange is a rise, purple a fall. Largest rise: {_label(terr['regions'][i])} / "
                   f"{_label(terr['industries'][j])} ({_money(data[i, j])}); largest fall: "
                   f"{_label(terr['regions'][k])} / {_label(terr['industries'][m])} ({_money(data[k, m])}).")
    return _finish(fig, ax, "chart-territory-change", title, description, x="industry", y="region")


def routes(routes_: dict[str, Any]) -> Chart:
    rows = routes_["rows"]
    names = [r["route"] for r in rows]
    assigned = np.asarray([r["assigned"] for r in rows])
    leads = np.asarray([r["leads"] for r in rows])
    fig, ax = _figure(6.0, 3.0)
    ax.bar(names, assigned, color=PALETTE[0], label="assigned")
    ax.bar(names, leads - assigned, bottom=assigned, color=PALETTE[1], label="unassigned")
    _bar_totals(ax, leads)
    title = "Open leads by route, assigned and unassigned"
    description = "Open opportunities per route: " + "; ".join(
        f"{r['route']}: {r['leads']:,} leads, {r['assigned']:,} assigned" for r in rows) + "."
    return _finish(fig, ax, "chart-routes", title, description, x="route", y="open leads", legend={})


def load(load_: dict[str, Any]) -> Chart:
    bands = load_["bands"]
    fig, ax = _figure(6.0, 3.0)
    colours = [PALETTE[4], PALETTE[0], PALETTE[2], PALETTE[1], PALETTE[5]]
    ax.bar([b["band"] for b in bands], [b["reps"] for b in bands], color=colours[: len(bands)])
    _bar_totals(ax, [b["reps"] for b in bands])
    title = "Load per rep against capacity"
    description = (f"{load_['active_reps']:,} active reps by the leads assigned to them in this run against "
                   f"their capacity: " + "; ".join(f"{b['band']}: {b['reps']:,}" for b in bands)
                   + f". {load_['over_capacity']:,} reps are over capacity.")
    return _finish(fig, ax, "chart-load", title, description, x="leads assigned this run as a share of the rep's capacity",
                   y="active reps", short_x="load / capacity")


def risk_by_region(risk: dict[str, Any], compared_with: str | None) -> Chart:
    rows = list(reversed(risk["by_region"]))
    fig, ax, y = _region_bars(rows)
    now = [r["value_at_risk"] for r in rows]
    if compared_with is not None:
        before = [r["value_at_risk"] - (r["change"] or 0.0) for r in rows]
        ax.barh(y + 0.2, before, height=0.4, color=PALETTE[4], label=f"run {compared_with}")
        ax.barh(y - 0.2, now, height=0.4, color=PALETTE[0], label="this run")
    else:
        ax.barh(y, now, color=PALETTE[0])
    title = "Value at risk by region"
    description = "Value at risk per region, largest first: " + "; ".join(
        f"{_label(r['region'])} {_money(r['value_at_risk'])}" + (f" ({_money(r['change'])} since the comparison run)"
                                                                 if r["change"] is not None else "")
        for r in risk["by_region"]) + "."
    return _finish(fig, ax, "chart-risk-region", title, description, x="value at risk (CNY)", y="region",
                   legend={"loc": "lower right"} if compared_with is not None else None)


def churn_distribution(risk: dict[str, Any]) -> Chart:
    bins = np.asarray(risk["probability_bins"], dtype=float)
    fig, ax = _figure(6.0, 3.2)
    centres = (bins[:-1] + bins[1:]) / 2 * 100
    for tier, dist in risk["distribution"].items():
        counts = np.asarray(dist["counts"], dtype=float)
        share = counts / counts.sum() * 100 if counts.sum() else counts
        ax.plot(centres, share, marker="o", markersize=3, linewidth=1.8,
                color=TIER_COLOURS.get(tier, PALETTE[3]), label=f"tier {tier} ({dist['accounts']:,} accounts)")
    ax.set_xlim(0, 100)
    title = "Distribution of churn probability by tier"
    description = "Share of each tier's accounts per 5-point band of churn probability. " + "; ".join(
        f"tier {t}: median {d['median']:.1%}, mean {d['mean']:.1%}" for t, d in risk["distribution"].items()
        if d["median"] is not None) + "."
    return _finish(fig, ax, "chart-churn-distribution", title, description, x="churn probability (%)",
                   y="share of the tier's accounts (%)", short_y="share of accounts (%)", legend={})


def alerts(alerts_: dict[str, Any]) -> Chart:
    kinds, severities = alerts_["kinds"], alerts_["severities"]
    counts = np.asarray(alerts_["counts"], dtype=float).reshape(len(kinds), len(severities))
    fig, ax = _figure(6.5, 0.35 * max(len(kinds), 1) + 1.5)
    colours = {"high": PALETTE[5], "medium": PALETTE[1], "low": PALETTE[4]}
    left = np.zeros(len(kinds))
    for j, severity in enumerate(severities):
        ax.barh([_label(k) for k in kinds], counts[:, j], left=left, color=colours.get(severity, PALETTE[3]), label=severity)
        left += counts[:, j]
    title = "Open alerts by kind and severity"
    description = f"{alerts_['open_total']:,} open alerts. " + "; ".join(
        f"{_label(k)}: " + ", ".join(f"{int(counts[i, j]):,} {s}" for j, s in enumerate(severities))
        for i, k in enumerate(kinds)) + "."
    return _finish(fig, ax, "chart-alerts", title, description, x="open alerts", y="alert kind",
                   legend={"title": "severity"})


def plans(plans_: dict[str, Any]) -> Chart:
    rows = list(reversed(plans_["by_region"]))
    fig, ax, y = _region_bars(rows)
    ax.barh(y, [r["value_at_risk"] for r in rows], color=PALETTE[4], label="value at risk")
    ax.barh(y, [r["value_at_risk_covered"] for r in rows], color=PALETTE[0], label="covered by next week's plans")
    title = "Value at risk covered by next week's call plans, by region"
    description = (f"Next week's plans cover {_money(plans_['value_at_risk_covered'])} of value at risk "
                   f"({(plans_['coverage'] or 0):.1%}). " + "; ".join(
                       f"{_label(r['region'])}: {r['lines']:,} planned contacts, {(r['coverage'] or 0):.1%} covered"
                       for r in plans_["by_region"]) + ".")
    return _finish(fig, ax, "chart-plans", title, description, x="value at risk (CNY)", y="region",
                   legend={"loc": "lower right"})


def model_curves(model: dict[str, Any]) -> Chart:
    """ROC, cumulative gains and calibration panels from the card (as far as the card stores them)."""
    card = model["card"]
    kind = model["kind"]
    fig, axes = _figure(10.4, 2.9, ncols=4)
    notes = []
    roc, gains, calibration = card["roc"], card["gains"], card["calibration_curve"]
    ax = axes[0]
    ax.plot([0, 1], [0, 1], color="#777777", linestyle=":", linewidth=1)
    if roc and "fpr" in roc and "tpr" in roc:
        ax.plot(roc["fpr"], roc["tpr"], color=PALETTE[0], linewidth=2)
        notes.append(f"ROC curve with AUC {card['metrics'].get('roc_auc', float('nan')):.3f}")
    else:
        ax.text(0.5, 0.5, f"AUC {card['metrics'].get('roc_auc', float('nan')):.3f}\n(curve not in the card)",
                ha="center", va="center", fontsize=8)
        notes.append("the card stores the ROC AUC but not the curve")
    ax.set_title("ROC")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax = axes[1]
    ax.plot([0, 1], [0, 1], color="#777777", linestyle=":", linewidth=1)
    if gains:
        share = gains.get("share") or gains.get("population") or []
        captured = gains.get("captured") or gains.get("gain") or []
        partial = bool(gains.get("partial"))
        ax.plot(share, captured, color=PALETTE[0], linewidth=2, marker="o" if partial else None,
                linestyle="--" if partial else "-")
        notes.append("cumulative gains " + ("through the top-decile point the card stores" if partial else "curve"))
    ax.set_title("Cumulative gains")
    ax.set_xlabel("share of rows, highest score first")
    ax.set_ylabel("share of positives found")
    ax = axes[2]
    ax.plot([0, 1], [0, 1], color="#777777", linestyle=":", linewidth=1)
    if calibration and "predicted" in calibration and "observed" in calibration:
        ax.plot(calibration["predicted"], calibration["observed"], color=PALETTE[0], marker="o", linewidth=2)
        counts = calibration.get("count") or []
        notes.append(f"calibration curve over {len(calibration['predicted'])} quantile bins"
                     + (f" of about {round(float(np.mean(counts))):,} rows each" if counts else "") + ": "
                     + ", ".join(f"predicted {p:.0%} observed {o:.0%}"
                                 for p, o in zip(calibration["predicted"], calibration["observed"])))
    else:
        ece = card["metrics"].get("ece")
        ax.text(0.5, 0.5, (f"ECE {ece:.3f}\n" if isinstance(ece, (int, float)) else "") + "(curve not in the card)",
                ha="center", va="center", fontsize=8)
        notes.append("the card stores the expected calibration error but not the curve")
    ax.set_title("Calibration")
    ax.set_xlabel("predicted probability")
    ax.set_ylabel("observed rate")
    for ax in axes[:3]:
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
    ax = axes[3]
    counts = np.asarray(model["scores"]["histogram"], dtype=float)
    edges = np.linspace(0, 1, len(counts) + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    if counts.sum():
        ax.plot(centres, counts / counts.sum() * 100, color=PALETTE[0], marker="o", markersize=3, label="this run")
    drift = model.get("score_drift")
    if drift and drift.get("histogram_before"):
        before = np.asarray(drift["histogram_before"], dtype=float)
        if before.sum():
            ax.plot(centres, before / before.sum() * 100, color=PALETTE[1], linestyle="--", label="comparison run")
        notes.append(f"score distribution against the comparison run (PSI {drift['psi'] or 0:.3f})")
    ax.legend(frameon=False, fontsize=7)
    ax.set_xlim(0, 1)
    ax.set_title("Scores this run")
    ax.set_xlabel("predicted probability")
    ax.set_ylabel("share of rows (%)")
    fig.tight_layout()
    title = f"{kind.capitalize()} model: ROC, cumulative gains and calibration (validation window), and this run's scores"
    metrics = card["metrics"]
    description = (f"{kind} model out-of-time validation on {metrics.get('n', 0):,} rows: ROC AUC "
                   f"{metrics.get('roc_auc', float('nan')):.3f}, top-decile capture "
                   f"{metrics.get('capture_top_decile', float('nan')):.1%}, ECE {metrics.get('ece', float('nan')):.3f}. "
                   f"Shown: {'; '.join(notes)}.")
    key = f"chart-model-{kind}"
    return Chart(key, title, "see panels", "see panels", description, _to_svg(fig, key, title, description))


#: Bar colour of each drift status (Okabe-Ito; the status is also written on the bar's label).
DRIFT_COLOURS = {"stable": PALETTE[0], "shifted": PALETTE[1], "retrain": PALETTE[5], "few rows": "#999999"}


def model_drift(kind: str, drift: dict[str, Any]) -> Chart:
    """PSI against the training distribution of the score and the inputs that moved most."""
    rows = ([drift["score"]] if drift["score"] else []) + drift["top"]
    rows = list(reversed(rows))
    fig, ax = _figure(6.5, 0.3 * len(rows) + 1.5)
    y = np.arange(len(rows))
    psi = [r["psi"] or 0.0 for r in rows]
    ax.barh(y, psi, color=[DRIFT_COLOURS.get(r["status"], "#999999") for r in rows], height=0.6)
    if any(r["previous_psi"] is not None for r in rows):
        ax.scatter([r["previous_psi"] if r["previous_psi"] is not None else np.nan for r in rows], y,
                   marker="|", s=160, color=PALETTE[7], label="comparison run", zorder=3)
        ax.legend(frameon=False, fontsize=8, loc="lower right")
    for limit, text in ((0.10, "shifted"), (0.25, "retrain")):
        ax.axvline(limit, color="#555555", linestyle=":", linewidth=1)
        ax.text(limit, len(rows) - 0.4, f" {text}", fontsize=7, va="bottom", color="#555555")
    def name(row: dict[str, Any]) -> str:
        return "the score" if row is drift["score"] else _label(row["feature"])

    ax.set_yticks(y, [f"{name(r)} ({r['status']})" for r in rows])
    ax.set_xlim(0, max(0.3, max(psi, default=0) * 1.1))
    ax.set_xlabel("population stability index against training")
    ax.set_ylabel("model input")
    title = f"{kind.capitalize()} model: drift since training"
    ax.set_title(title, loc="left")
    fig.tight_layout()
    described = "; ".join(
        f"{name(r)} {r['psi'] if r['psi'] is not None else float('nan'):.3f} ({r['status']}"
        + (f", {r['change']:+.3f} since the comparison run" if r["change"] is not None else "") + ")"
        for r in reversed(rows))
    description = (f"Verdict for the {kind} model: {drift['verdict_text']}. Population stability index of "
                   f"{drift['inputs_checked']:,} inputs and the score against the training distribution "
                   f"(0.10 shifted, 0.25 retrain), the highest first: {described}.")
    key = f"chart-drift-{kind}"
    return Chart(key, title, "population stability index", "model input", description,
                 _to_svg(fig, key, title, description))


def stages(manifest: dict[str, Any]) -> Chart:
    rows = list(reversed(manifest["stages"]))
    fig, ax = _figure(6.0, 0.26 * max(len(rows), 1) + 1.3)
    y = np.arange(len(rows))
    has_previous = any(r["previous"] is not None for r in rows)
    if has_previous:
        ax.barh(y + 0.2, [r["previous"] or 0 for r in rows], height=0.4, color=PALETTE[4], label="comparison run")
        ax.barh(y - 0.2, [r["seconds"] or 0 for r in rows], height=0.4, color=PALETTE[0], label="this run")
        ax.legend(frameon=False, fontsize=8, loc="lower right")
    else:
        ax.barh(y, [r["seconds"] or 0 for r in rows], color=PALETTE[0])
    ax.set_yticks(y, [r["stage"] for r in rows])
    ax.set_xlabel("wall time (s)")
    ax.set_ylabel("stage")
    title = "Stage times of the run"
    ax.set_title(title)
    fig.tight_layout()
    description = f"Wall time per stage, {manifest['total_seconds']:.1f} s in all: " + "; ".join(
        f"{r['stage']} {r['seconds'] or 0:.1f} s" for r in manifest["stages"]) + "."
    return Chart("chart-stages", title, "wall time (s)", "stage", description, _to_svg(fig, "chart-stages", title, description))


def render_charts(numbers: dict[str, Any]) -> dict[str, Chart]:
    """Every chart the numbers allow, keyed by section name (``models`` charts by model kind)."""
    import matplotlib

    compared = numbers["meta"]["compared_with"]
    charts: dict[str, Chart] = {}
    with matplotlib.rc_context(_style()):
        charts["tier_pyramid"] = tier_pyramid(numbers["tiers"])
        charts["pareto"] = pareto(numbers["tiers"])
        if numbers["tiers"]["moves"] is not None:
            charts["tier_moves"] = tier_moves(numbers["tiers"]["moves"])
        for measure in TERRITORY_MEASURES:
            charts[f"territory_{measure}"] = territories(numbers["territories"], measure)
        if numbers["territories"]["change_value_at_risk"] is not None:
            charts["territory_change"] = territory_change(numbers["territories"], compared)
        if numbers["routes"]["rows"]:
            charts["routes"] = routes(numbers["routes"])
        if numbers["routes"]["load"]["available"]:
            charts["load"] = load(numbers["routes"]["load"])
        charts["risk_region"] = risk_by_region(numbers["risk"], compared)
        charts["churn_distribution"] = churn_distribution(numbers["risk"])
        if numbers["alerts"]["available"] and numbers["alerts"]["kinds"]:
            charts["alerts"] = alerts(numbers["alerts"])
        if numbers["plans"]["available"]:
            charts["plans"] = plans(numbers["plans"])
        for model in numbers["models"]:
            if model["card"] is not None:
                charts[f"model_{model['kind']}"] = model_curves(model)
            if model["drift"]["available"]:
                charts[f"drift_{model['kind']}"] = model_drift(model["kind"], model["drift"])
        if numbers["manifest"]["stages"]:
            charts["stages"] = stages(numbers["manifest"])
    return charts
