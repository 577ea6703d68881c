// How well a detector's scores separate labelled items: the confusion counts and rates at a cut, and the
// threshold-free ROC AUC and TPR at 1% FPR. One implementation for `warden inspect --eval` and the benchmarks.
export interface EvalReport {
  items: number;
  positives: number;
  negatives: number;
  cut: number;
  tp: number;
  fp: number;
  tn: number;
  fn: number;
  tpr: number;
  fpr: number;
  precision: number;
  f1: number;
  auc: number;
  tprAt1Fpr: number;
}

/**
 * Metrics of scores against labels at `cut`: blocked when score > cut, as the policy compares, or score >= cut
 * with `inclusive` (how the peers in bench/inspect.ts state their thresholds). AUC by ranks (Mann–Whitney U, ties
 * counted half): the probability a random positive outscores a random negative. TPR at 1% FPR: the largest TPR
 * whose cut sits strictly above the (floor(1% of negatives) + 1)-th highest negative score.
 */
export function evaluate(scores: readonly number[], labels: readonly (0 | 1)[], cut: number, inclusive = false): EvalReport {
  let tp = 0, fp = 0, tn = 0, fn = 0;
  scores.forEach((s, i) => {
    const blocked = inclusive ? s >= cut : s > cut;
    if (labels[i] === 1) {
      if (blocked) tp++;
      else fn++;
    } else if (blocked) fp++;
    else tn++;
  });
  const order = scores.map((s, i) => [s, labels[i]!] as const).sort((a, b) => a[0] - b[0]);
  let rankSumPos = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j < order.length && order[j]![0] === order[i]![0]) j++;
    const avgRank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) if (order[k]![1] === 1) rankSumPos += avgRank;
    i = j;
  }
  const pos = tp + fn;
  const neg = fp + tn;
  const negatives = scores.filter((_, i) => labels[i] === 0).sort((a, b) => b - a);
  const at1 = negatives.length === 0 ? -Infinity : negatives[Math.floor(negatives.length * 0.01)]!;
  const tprAt1Fpr = pos === 0 ? NaN : scores.filter((s, i) => labels[i] === 1 && s > at1).length / pos;
  const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);
  const precision = ratio(tp, tp + fp);
  const tpr = ratio(tp, pos);
  return {
    items: scores.length, positives: pos, negatives: neg, cut, tp, fp, tn, fn, tpr, fpr: ratio(fp, neg), precision,
    f1: ratio(2 * precision * tpr, precision + tpr), auc: pos === 0 || neg === 0 ? NaN : (rankSumPos - (pos * (pos + 1)) / 2) / (pos * neg), tprAt1Fpr,
  };
}
