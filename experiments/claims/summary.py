"""The paper's claims, measured over seeds: numbers, verdicts and ``claims.md``. Pure Python.

Input: ``runs = {family: {seed: run}}``, where a run (one seed of one model family, collected by
:func:`experiments.claims.study.collect_run`) is::

    {'source_only': record,                      # the main job's source-only model (optional)
     'singles': {target: results record},        # the main job's stage-one models
     'merges': {merge row key: record},           # its merges (experiments.layout.MERGE_ROWS)
     'subsets': {'C+I': record, ...},            # pool merges of every subset of >= 2 targets
     'cs_idd_own_heads': record,                 # encoder-only merge of C and I
     'lmc': {'shared init': lmc data, 'different init': lmc data,    # tools/analyze_lmc.py output
             'different init rebasin': lmc data},                      # (optional) --rebasin
     'methods': {method: record}}                # four-target merges by TIES, DARE ... (optional);
                                                 # methods['rebasin']['matching']: its provenance

Every comparison is paired within a seed (the same data, shared init and singles), then summarised
as mean ± sample std over seeds. A claim **holds** when the paired difference is in the paper's
direction by more than its std over seeds, **does not hold** when it is against it by more than
its std, and is **inconclusive** otherwise.
"""
import math
from itertools import combinations
from statistics import mean, stdev
from typing import Any, Dict, List, Mapping, Sequence

from mtda.analysis.lmc import hmean_barrier
from mtda.evaluation.scores import harmonic_mean

from ..layout import MERGE_ROWS, SOURCE_ONLY_LABEL, TARGETS, single_label
from . import paper_numbers as paper
LETTER = dict(zip(TARGETS, 'CIAD'))
CS_IDD = ('cityscapes', 'idd')


def subset_name(targets: Sequence[str]) -> str:
    """``('cityscapes', 'idd')`` -> ``'C+I'`` (the paper's row names)."""
    return '+'.join(LETTER[t] for t in targets)


def subsets(targets: Sequence[str] = TARGETS) -> List[tuple]:
    """Every non-empty subset in the paper's row order: singles, pairs, triples, all."""
    return [s for r in range(1, len(targets) + 1) for s in combinations(targets, r)]


def hmean_over(record: Mapping, domains: Sequence[str] = TARGETS) -> float:
    """Harmonic mean of the record's mIoU over ``domains``."""
    return harmonic_mean(record['domains'][d]['mIoU'] for d in domains)


def mean_std(values: Sequence[float]) -> tuple:
    """``(mean, sample std)``; the std is NaN for one value."""
    values = list(values)
    return mean(values), (stdev(values) if len(values) > 1 else math.nan)


def verdict(differences: Sequence[float]) -> str:
    """'holds' / 'does not hold' / 'inconclusive' for paired differences (claim direction > 0)."""
    m, s = mean_std(differences)
    if math.isnan(s):
        return 'inconclusive (one seed)'
    if m > 0 and m > s:
        return 'holds'
    if m < 0 and -m > s:
        return 'does not hold'
    return 'inconclusive'


def single(run: Mapping, target: str) -> Mapping:
    return run['singles'][target]


def subset_record(run: Mapping, targets: Sequence[str]) -> Mapping:
    """The single model of one target, or the pool merge of several."""
    return single(run, targets[0]) if len(targets) == 1 else run['subsets'][subset_name(targets)]


def _paired(runs: Mapping[Any, Mapping], fn) -> Dict[str, Any]:
    """Apply ``fn(run) -> {key: value}`` to every seed; ``{key: [values over seeds]}``."""
    out: Dict[str, list] = {}
    for seed in sorted(runs):
        for key, value in fn(runs[seed]).items():
            out.setdefault(key, []).append(value)
    return out


def claim_lmc(runs: Mapping[Any, Mapping]) -> Dict[str, Any]:
    """C1: barrier of H(C, I) along θ(λ), from a shared init vs from different inits."""
    def per_seed(run):
        values = {}
        for kind in ('shared init', 'different init'):
            points = run['lmc'][kind]['points']
            values[f'{kind}: barrier'] = hmean_barrier(points, domains=CS_IDD)
            middle = min(points, key=lambda p: abs(p['lambda'] - 0.5))
            values[f'{kind}: H(C,I) at λ=0.5'] = harmonic_mean(middle['mIoU'][d] for d in CS_IDD)
            values[f'{kind}: curve'] = [harmonic_mean(p['mIoU'][d] for d in CS_IDD) for p in points]
        values['difference'] = (values['different init: barrier']
                                - values['shared init: barrier'])
        return values

    values = _paired(runs, per_seed)
    curves = {kind: [mean(col) for col in zip(*values.pop(f'{kind}: curve'))]
              for kind in ('shared init', 'different init')}
    lams = [p['lambda'] for p in next(iter(runs.values()))['lmc']['shared init']['points']]
    return dict(values=values, curves=curves, lambdas=lams,
                verdict=verdict(values['difference']))


def claim_rebasin(runs: Mapping[Any, Mapping]) -> Dict[str, Any]:
    """C2: Git Re-Basin's weight matching on stage-one models from one init finds the identity.

    Shared init: the units the four-target Re-Basin merge left in place (mean over its three
    matchings) and its H-mean minus the average's. Different init: the matched LMC sweep against
    the plain one (barrier and midpoint of H(C, I)). Empty when a seed lacks either.
    """
    def ready(run):
        return ('matching' in run.get('methods', {}).get('rebasin', {})
                and 'different init rebasin' in run['lmc'])

    if not runs or not all(ready(run) for run in runs.values()):
        return {}

    def per_seed(run):
        merge = run['methods']['rebasin']
        fractions = list(merge['matching']['fixed_fraction'].values())
        values = {'shared init: units in place (%)': 100 * mean(fractions),
                  'shared init: H Re-Basin - average': hmean_over(merge)
                  - hmean_over(run['merges']['pool'])}
        matched = run['lmc']['different init rebasin']
        values['different init: units in place (%)'] = 100 * matched['rebasin']['fixed_fraction']
        for module, fraction in matched['rebasin'].get('fixed_fraction_by_module', {}).items():
            values[f'different init: {module} units in place (%)'] = 100 * fraction
        for label, data in (('before', run['lmc']['different init']), ('after', matched)):
            points = data['points']
            middle = min(points, key=lambda p: abs(p['lambda'] - 0.5))
            values[f'different init: barrier {label} matching'] = hmean_barrier(points,
                                                                                domains=CS_IDD)
            values[f'different init: H(C,I) at λ=0.5 {label} matching'] = harmonic_mean(
                middle['mIoU'][d] for d in CS_IDD)
        return values

    values = _paired(runs, per_seed)
    identity = all(v == 100 for v in values['shared init: units in place (%)'])
    return dict(values=values, verdict='holds' if identity else 'does not hold')


def claim_merge_beats_best_single(runs: Mapping[Any, Mapping]) -> Dict[str, Any]:
    """C3: merged H-mean minus the best single's, for C+I (over C, I) and for all four targets."""
    def per_seed(run):
        best_ci = max(hmean_over(single(run, t), CS_IDD) for t in CS_IDD)
        merged_ci = hmean_over(run['subsets']['C+I'], CS_IDD)
        best_all = max(hmean_over(single(run, t)) for t in TARGETS)
        merged_all = hmean_over(run['merges']['pool'])
        return {'C+I: best single': best_ci, 'C+I: merged': merged_ci,
                'C+I: difference': merged_ci - best_ci,
                'all: best single': best_all, 'all: merged': merged_all,
                'all: difference': merged_all - best_all}

    values = _paired(runs, per_seed)
    return dict(values=values, verdict={k: verdict(values[f'{k}: difference'])
                                        for k in ('C+I', 'all')})


def claim_buffers(runs: Mapping[Any, Mapping]) -> Dict[str, Any]:
    """C4: H-mean of the four-target merge with BN buffers pooled vs averaged vs taken from one."""
    def per_seed(run):
        h = {policy: hmean_over(run['merges'][policy])
             for policy in ('pool', 'mean', 'first')}
        return {**h, 'pool - mean': h['pool'] - h['mean'], 'pool - first': h['pool'] - h['first']}

    values = _paired(runs, per_seed)
    return dict(values=values, verdict={k: verdict(values[k])
                                        for k in ('pool - mean', 'pool - first')})


def claim_encoder_only(runs: Mapping[Any, Mapping]) -> Dict[str, Any]:
    """C5: encoder-only merge (each domain's own head) minus the full merge."""
    def per_seed(run):
        full_all = hmean_over(run['merges']['pool'])
        own_all = hmean_over(run['merges']['own_heads'])
        full_ci = hmean_over(run['subsets']['C+I'], CS_IDD)
        own_ci = hmean_over(run['cs_idd_own_heads'], CS_IDD)
        return {'C+I: full': full_ci, 'C+I: own heads': own_ci, 'C+I: difference': own_ci - full_ci,
                'all: full': full_all, 'all: own heads': own_all,
                'all: difference': own_all - full_all}

    values = _paired(runs, per_seed)
    return dict(values=values, verdict={k: verdict(values[f'{k}: difference'])
                                        for k in ('C+I', 'all')})


def subset_table(runs: Mapping[Any, Mapping]) -> List[Dict[str, Any]]:
    """C6: the 15 rows; per row mIoU per target, H over four, Δ H vs the best single of the seed."""
    rows = []
    for targets in subsets():
        def per_seed(run, targets=targets):
            record = subset_record(run, targets)
            best = max(hmean_over(single(run, t)) for t in TARGETS)
            h = hmean_over(record)
            return {**{t: record['domains'][t]['mIoU'] for t in TARGETS}, 'H': h, 'delta': h - best}

        rows.append(dict(name=subset_name(targets), size=len(targets),
                         values=_paired(runs, per_seed)))
    return rows


def subset_ranking(rows: Sequence[Mapping]) -> Dict[str, Any]:
    """C6 read against the paper: Spearman's ρ between our mean H of the 15 rows and the paper's,
    and how many of the 11 merges beat the best single model (by more than the std over seeds).
    The verdict holds when every merge that beats it in the paper does here, is ``partly`` when
    some do."""
    from scipy.stats import spearmanr
    ours = [mean(row['values']['H']) for row in rows]
    theirs = [paper.FOUR_DOMAIN_TABLE[row['name']][4] for row in rows]
    rho, p_value = spearmanr(ours, theirs)
    merges = [row for row in rows if row['size'] > 1]
    better = [row['name'] for row in merges if verdict(row['values']['delta']) == 'holds']
    paper_best = paper.FOUR_DOMAIN_TABLE['D'][4]
    theirs = [row['name'] for row in merges if paper.FOUR_DOMAIN_TABLE[row['name']][4] > paper_best]
    found = sum(name in better for name in theirs)
    # the paper's claim is every one of its merges above the best single, not any one of them
    claim = 'holds' if theirs and found == len(theirs) else 'partly' if found else 'does not hold'
    return dict(spearman_rho=float(rho), p_value=float(p_value), merges=len(merges),
                merges_beating_best_single=better, paper_merges_beating_best_single=theirs,
                verdict=claim)


def main_table(runs: Mapping[Any, Mapping]) -> List[Dict[str, Any]]:
    """The main job's table over seeds: per row (model) the per-target mIoU and H, over seeds."""
    picks = [(SOURCE_ONLY_LABEL, lambda run: run.get('source_only'))]
    picks += [(single_label(t), lambda run, t=t: run['singles'][t]) for t in TARGETS]
    picks += [(row.label, lambda run, key=row.key: run['merges'][key]) for row in MERGE_ROWS]
    rows = []
    for label, pick in picks:
        if any(pick(run) is None for run in runs.values()):
            continue
        rows.append(dict(name=label, values=_paired(runs, lambda run, pick=pick: {
            **{t: pick(run)['domains'][t]['mIoU'] for t in TARGETS},
            'H': hmean_over(pick(run))})))
    return rows


_READINGS = {'holds': 'better', 'does not hold': 'worse', 'inconclusive': 'level'}


def compare_methods(runs: Mapping[Any, Mapping]) -> Dict[str, Any]:
    """Each merge method's four-target H-mean against the paper's average (pool BN), paired.

    Not a claim of the paper: ``better``/``worse`` when the difference exceeds its std over seeds,
    ``level`` otherwise. Empty when the runs have no method merges.
    """
    methods = sorted(set.intersection(*(set(run.get('methods', {})) for run in runs.values())))
    rows = {}
    for method in methods:
        def per_seed(run, method=method):
            record = run['methods'][method]
            h, average = hmean_over(record), hmean_over(run['merges']['pool'])
            return {**{t: record['domains'][t]['mIoU'] for t in TARGETS}, 'H': h,
                    'H - average': h - average}
        values = _paired(runs, per_seed)
        reading = verdict(values['H - average'])
        rows[method] = dict(values=values, reading=_READINGS.get(reading, reading))
    return rows


def summarize(runs: Mapping[str, Mapping[Any, Mapping]], *, main_family: str) -> Dict[str, Any]:
    """Every claim for every family that has the runs it needs (C6 for ``main_family``)."""
    claims: Dict[str, Any] = dict(main_family=main_family, families={})
    for family, seeds in runs.items():
        claims['families'][family] = dict(
            seeds=sorted(seeds), C1=claim_lmc(seeds), C2=claim_rebasin(seeds),
            C3=claim_merge_beats_best_single(seeds),
            C4=claim_buffers(seeds), C5=claim_encoder_only(seeds), C6=subset_table(seeds),
            methods=compare_methods(seeds), table=main_table(seeds))
        claims['families'][family]['C6 ranking'] = subset_ranking(claims['families'][family]['C6'])
    return claims


# --- rendering ----------------------------------------------------------------------------------

def _ms(values: Sequence[float]) -> str:
    m, s = mean_std(values)
    return f'{m:.1f}' if math.isnan(s) else f'{m:.1f} ± {s:.1f}'


def _signed(values: Sequence[float]) -> str:
    m, s = mean_std(values)
    return f'{m:+.1f}' if math.isnan(s) else f'{m:+.1f} ± {s:.1f}'


def render_claims_markdown(claims: Mapping[str, Any], *, preamble: str = '') -> str:
    """``claims.md``: a summary table, then one section per claim with the paper's numbers."""
    families = claims['families']
    main = families[claims['main_family']]
    lines = ['# The paper\'s claims on the miniature synthetic domains', '']
    if preamble:
        lines += [preamble.strip(), '']
    lines += ['Mean ± sample std over seeds of paired, per-seed numbers (mIoU points, H = harmonic '
              'mean). A claim holds when the difference is in the paper\'s direction by more than '
              'its std over seeds.', '',
              '| claim | family | measured | paper | verdict |', '|---|---|---|---|---|']
    r, v = paper.CS_IDD_HMEAN['R'], paper.CS_IDD_HMEAN['V']
    for family, c in families.items():
        seeds = f' ({len(c["seeds"])} seeds)'
        lines += [
            f'| C1 LMC: barrier of H(C,I), different − shared init | {family}{seeds} | '
            f'{_signed(c["C1"]["values"]["difference"])} '
            f'(shared {_ms(c["C1"]["values"]["shared init: barrier"])}, '
            f'different {_ms(c["C1"]["values"]["different init: barrier"])}) | '
            'shared ≈ 0, different ≈ 45 (Fig. 3, read by eye) | '
            f'{c["C1"]["verdict"]} |',
            *([f'| C2 Re-Basin on shared-init models: units left in place | {family} | '
               f'{_ms(c["C2"]["values"]["shared init: units in place (%)"])} % (H Re-Basin − '
               f'average {_signed(c["C2"]["values"]["shared init: H Re-Basin - average"])}) | '
               f'100 % ({paper.REBASIN_FIGURE}) | {c["C2"]["verdict"]} |'] if c['C2'] else []),
            f'| C3 merge − best single, H(C,I) of C+I | {family} | '
            f'{_signed(c["C3"]["values"]["C+I: difference"])} | '
            f'R {r["merged"] - max(r["STDA (GTA->CS)"], r["STDA (GTA->IDD)"]):+.1f}, '
            f'V {v["merged"] - max(v["STDA (GTA->CS)"], v["STDA (GTA->IDD)"]):+.1f} | '
            f'{c["C3"]["verdict"]["C+I"]} |',
            f'| C3 merge − best single, H of all four | {family} | '
            f'{_signed(c["C3"]["values"]["all: difference"])} | '
            f'{paper.FOUR_DOMAIN_TABLE["C+I+A+D"][4] - max(row[4] for k, row in paper.FOUR_DOMAIN_TABLE.items() if "+" not in k):+.1f} | '
            f'{c["C3"]["verdict"]["all"]} |',
            f'| C4 buffers pool − mean, H of all four | {family} | '
            f'{_signed(c["C4"]["values"]["pool - mean"])} | not found | '
            f'{c["C4"]["verdict"]["pool - mean"]} |',
            f'| C4 buffers pool − first, H of all four | {family} | '
            f'{_signed(c["C4"]["values"]["pool - first"])} | not found | '
            f'{c["C4"]["verdict"]["pool - first"]} |',
            f'| C5 encoder-only − full merge, H(C,I) of C+I | {family} | '
            f'{_signed(c["C5"]["values"]["C+I: difference"])} | '
            f'R {r["merged encoder, own heads"] - r["merged"]:+.1f}, '
            f'V {v["merged encoder, own heads"] - v["merged"]:+.1f} | '
            f'{c["C5"]["verdict"]["C+I"]} |',
            f'| C5 encoder-only − full merge, H of all four | {family} | '
            f'{_signed(c["C5"]["values"]["all: difference"])} | – | '
            f'{c["C5"]["verdict"]["all"]} |',
            f'| C6 merges beating the best single (of {c["C6 ranking"]["merges"]}) | {family} | '
            f'{len(c["C6 ranking"]["merges_beating_best_single"])} | '
            f'{len(c["C6 ranking"]["paper_merges_beating_best_single"])} | '
            f'{c["C6 ranking"]["verdict"]} |',
            f'| C6 rank agreement of the 15 rows with the paper (Spearman ρ) | {family} | '
            f'{c["C6 ranking"]["spearman_rho"]:+.2f} (p = {c["C6 ranking"]["p_value"]:.3f}) | '
            '1 | – |']
    lines += ['', '## The main job\'s table over seeds', '',
              'Per-domain mIoU and H-mean of every model of `tools/run_mtda.py`, mean ± std over '
              'the seeds.', '']
    for family, c in families.items():
        lines += [f'**{family}**', '', '| model | ' + ' | '.join(TARGETS) + ' | H-mean |',
                  '|---|' + '---|' * (len(TARGETS) + 1)]
        for row in c.get('table', []):
            values = row['values']
            lines.append('| ' + ' | '.join([row['name'], *(_ms(values[t]) for t in TARGETS),
                                            f'**{_ms(values["H"])}**']) + ' |')
        lines.append('')
    lines += ['## C1 Linear mode connectivity', '',
              'H(C, I) along θ(λ) = (1−λ)·θ_CS + λ·θ_IDD, mean over seeds. Shared init: both '
              'stage-one models of one seed. Different init: the Cityscapes model of seed s and '
              'the IDD model of the next seed, whose shared inits differ: another random '
              'initialisation for the families that pretrain their init on GTA, another seeded '
              'head on the same ImageNet backbone for the ImageNet families (EfficientNet-Lite0). '
              f'Paper: {paper.LMC_FIGURE}.', '']
    for family, c in families.items():
        c1 = c['C1']
        lines += [f'**{family}**', '', '| λ | ' + ' | '.join(f'{x:.1f}' for x in c1['lambdas']) + ' |',
                  '|---|' + '---|' * len(c1['lambdas'])]
        for kind, curve in c1['curves'].items():
            lines.append(f'| {kind} | ' + ' | '.join(f'{x:.1f}' for x in curve) + ' |')
        lines.append('')
    if any(c['C2'] for c in families.values()):
        lines += ['## C2 Git Re-Basin', '',
                  'Weight matching (docs/merging.md) of each seed\'s stage-one models to its '
                  'Cityscapes model (shared init), and of the next seed\'s IDD model to it '
                  '(different init: the LMC sweep with `--rebasin`). Barriers and midpoints are '
                  f'of H(C, I). Paper: {paper.REBASIN_FIGURE}.', '',
                  '| family | quantity | mean ± std |', '|---|---|---|']
        for family, c in families.items():
            for key, values in c['C2'].get('values', {}).items():
                lines.append(f'| {family} | {key} | {_ms(values)} |')
        lines.append('')
    lines += ['## C3, C4, C5 per model', '', '| family | quantity | mean ± std |', '|---|---|---|']
    for family, c in families.items():
        for claim in ('C3', 'C4', 'C5'):
            for key, values in c[claim]['values'].items():
                lines.append(f'| {family} | {claim} {key} | {_ms(values)} |')
    if any(c.get('methods') for c in families.values()):
        lines += ['', '## Merge methods beyond averaging (not claims of the paper)', '',
                  'Four-target merges, BatchNorm statistics pooled, each method with its data-free '
                  'defaults (docs/merging.md); Δ = H minus the average\'s (pool BN) in the same '
                  'seed: better or worse when beyond its std over seeds, else level.', '',
                  '| family | method | C | I | A | D | H | Δ vs average | reading |',
                  '|---|---|---|---|---|---|---|---|---|']
        for family, c in families.items():
            for method, row in c.get('methods', {}).items():
                values = row['values']
                lines.append('| ' + ' | '.join([
                    family, method, *(_ms(values[t]) for t in TARGETS), f'**{_ms(values["H"])}**',
                    _signed(values['H - average']), row['reading']]) + ' |')
    lines += ['', f'## C6 Every subset of targets ({claims["main_family"]})', '',
              'Pool merge of each subset (rows 1–4 are the single-target models), evaluated on all '
              'four targets; Δ = H minus the best single model\'s H in the same seed. The paper\'s '
              'H and Δ (vs row 4, its best single) are beside.', '',
              '| # | merged | C | I | A | D | H | Δ | paper H | paper Δ |',
              '|---|---|---|---|---|---|---|---|---|---|']
    paper_best = paper.FOUR_DOMAIN_TABLE['D'][4]
    for i, row in enumerate(main['C6'], 1):
        p = paper.FOUR_DOMAIN_TABLE[row['name']]
        values = row['values']
        lines.append('| ' + ' | '.join([
            str(i), row['name'], *(_ms(values[t]) for t in TARGETS), f'**{_ms(values["H"])}**',
            _signed(values['delta']), f'{p[4]:.1f}', f'{p[4] - paper_best:+.1f}']) + ' |')
    return '\n'.join(lines) + '\n'


