import type { Gradients } from './gradients';
import { MAX_LOG_SCALE, type TextModel } from './text-model';

export interface AdamSettings {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

/**
 * Adam over a text model's parameters. The table's moments move only for the rows a batch read ("lazy"
 * Adam, as sparse embedding layers do): a caption's step costs its own rows, not the 80k-row table, and
 * the moments exist only for rows some batch read (two 33 MB arrays otherwise).
 * The bias correction uses the global step, so a row read rarely takes the same size of step as a
 * dense parameter would at that step.
 */
export class AdamOptimizer {
  private step = 0;
  private readonly dense: { value: Float32Array; first: Float32Array; second: Float32Array; gradient: (g: Gradients) => Float32Array }[];
  /** Row → its moments (first wordDim values, then second), made when a batch first reads the row. */
  private readonly rowMoments = new Map<number, Float32Array>();
  private scaleFirst = 0;
  private scaleSecond = 0;

  constructor(
    private readonly model: TextModel,
    private readonly settings: AdamSettings,
  ) {
    const moments = (value: Float32Array, gradient: (g: Gradients) => Float32Array) => ({ value, first: new Float32Array(value.length), second: new Float32Array(value.length), gradient });
    this.dense = [
      moments(model.imageWeights, (g) => g.imageWeights),
      moments(model.imageBias, (g) => g.imageBias),
      moments(model.textWeights, (g) => g.textWeights),
      moments(model.textBias, (g) => g.textBias),
    ];
  }

  apply(gradients: Gradients): void {
    const { learningRate, beta1, beta2, epsilon } = this.settings;
    this.step += 1;
    const rate = (learningRate * Math.sqrt(1 - beta2 ** this.step)) / (1 - beta1 ** this.step);
    for (const parameter of this.dense) {
      adamUpdate(parameter.value, 0, parameter.first, 0, parameter.second, 0, parameter.gradient(gradients), rate, this.settings);
    }
    const dim = this.model.settings.wordDim;
    // Rows in increasing order: the same batch always updates in the same order (determinism).
    for (const row of [...gradients.rows.keys()].sort((a, b) => a - b)) {
      let moments = this.rowMoments.get(row);
      if (!moments) this.rowMoments.set(row, (moments = new Float32Array(2 * dim)));
      adamUpdate(this.model.table, row * dim, moments, 0, moments, dim, gradients.rows.get(row)!, rate, this.settings);
      this.model.trainedRows.add(row);
    }
    this.scaleFirst = beta1 * this.scaleFirst + (1 - beta1) * gradients.logScale;
    this.scaleSecond = beta2 * this.scaleSecond + (1 - beta2) * gradients.logScale ** 2;
    const logScale = this.model.logScale - (rate * this.scaleFirst) / (Math.sqrt(this.scaleSecond) + epsilon);
    // Clamped as CLIP does: at most 100, and never below 1 (a temperature above 1 flattens every softmax).
    this.model.logScale = Math.min(MAX_LOG_SCALE, Math.max(0, logScale));
  }
}

/** One Adam step of value[at …] by gradient, the moments at first[firstAt …] and second[secondAt …]. */
export function adamUpdate(
  value: Float32Array,
  at: number,
  first: Float32Array,
  firstAt: number,
  second: Float32Array,
  secondAt: number,
  gradient: Float32Array,
  rate: number,
  settings: AdamSettings,
): void {
  const { beta1, beta2, epsilon } = settings;
  for (let i = 0; i < gradient.length; i++) {
    const g = gradient[i]!;
    const m = (first[firstAt + i] = beta1 * first[firstAt + i]! + (1 - beta1) * g);
    const v = (second[secondAt + i] = beta2 * second[secondAt + i]! + (1 - beta2) * g * g);
    value[at + i]! -= (rate * m) / (Math.sqrt(v) + epsilon);
  }
}
