import type { ServerOptimizerKind } from '../../src/server/serverOptimizer';
import { DEFAULT_SETTINGS, type TrainSettings } from '../train/trainSettings';
import type { CentralRun } from './centralBaselines';

/** Every knob of `npm run simulate`, with the defaults it runs with. */
export interface SimulationSettings {
  /** Federated rounds per run. */
  rounds: number;
  /** Devices sampled per round (K). */
  clientsPerRound: number;
  /** Sessions of the second half given to each simulated device. */
  sessionsPerDevice: number;
  /** Item-embedding rows the server announces (and every device uploads) per round. */
  rowsPerRound: number;
  /**
   * Coordinates of each announced row a device uploads (0 = the whole row). Below the embedding
   * size the server picks, per round and row, this many coordinates from a public seed and every
   * device uploads only those (a subsampled update, Konečný et al., "Federated Learning: Strategies
   * for Improving Communication Efficiency", 2016): `embedDim / rowDims` times the rows for the
   * same upload bytes; a row's other coordinates keep their value that round.
   */
  rowDims: number;
  /**
   * Rank r of a public basis for the rows' changes (0 = none; see `rowBasis.ts`): each announced
   * row uploads its r coordinates in a basis the server refreshes every round from the summed
   * second moments of the rows' changes (PowerSGD-style, from aggregates only).
   */
  rowBasis: number;
  /**
   * Rows a device picks itself (0 = off; then `rowsPerRound` must be 0): each device trains and
   * uploads the rows of its own M most frequent items, hidden by a sparse secure aggregation that
   * this project does not have yet (a distributed point function per row, Boyle, Gilboa and Ishai,
   * CCS 2016, evaluated by the two aggregators: each sees a key that reveals neither the item nor
   * the change). Simulation only: the sum is exact, the upload bytes are the DPF keys' estimated
   * size (`dpfKeyBytes`) beside the dense tensors' masked report. Under DP the aggregators add the
   * noise on the sum, to every row of the table.
   */
  privateRows: number;
  /**
   * Own rows under DP (0 = off): a row of the noised table-shaped sum is applied only where its
   * squared norm exceeds the noise's expected energy by this many of its standard deviations, and
   * then shrunk by the positive-part James-Stein factor (post-processing, free under DP).
   */
  rowThreshold: number;
  /** 1 = own rows under the threshold add up over rounds until they stand above it (`NoisyRowGate`); 0 = dropped. */
  rowAccumulate: number;
  /** Share of each round's rows given to the most popular rows (the rest: new rows, then a cycle). */
  exploitShare: number;
  /** The exploit share rotates through this many times its size of the most popular rows (1 = the top rows every round). */
  exploitPool: number;
  /** Buckets of the item sketch each device adds to its upload (0 = none). */
  sketchBuckets: number;
  /** The sketch's share of the clip norm (its L2 norm is sketchShare·C). */
  sketchShare: number;
  /** L2 clip norm C of a device's delta. */
  clipNorm: number;
  /**
   * 0 = one clip over a device's whole update (dense values and rows together). In (0, 1): the
   * rows (announced or own) are clipped on their own to this share of the clip norm left after the
   * sketch, the dense values to √(1 − share²) of it (`clipParts`): the update's norm bound, hence
   * the noise and ε, is unchanged; what changes is how much of it the rows may take.
   */
  rowClipShare: number;
  /** δ of the reported (ε, δ). */
  delta: number;
  /** Local passes over a device's sessions per round. */
  localEpochs: number;
  /** Local SGD learning rate. */
  localLr: number;
  /** Server learning rate of the dense tensors (FedAvg: 1 = plain averaging). */
  serverLr: number;
  /**
   * Server learning rate of the item rows. A row that m of K devices touched moves by m/K of one
   * device's step under plain averaging, and one device's update is clipped as a whole, so rows
   * need a far larger step than the dense tensors.
   */
  rowServerLr: number;
  /**
   * Both server learning rates decay linearly over the rounds to this fraction of their start (1 =
   * constant; the central trainer decays its rate to 0.1). FedAvg (`sgd`) only.
   */
  serverLrFinal: number;
  /**
   * 1 = an oracle, for diagnosis only: each announced row's summed update is divided by the number
   * of sampled devices whose sessions hold the item (read from the sessions, which no server sees),
   * so a row moves by `rowServerLr` × the mean change of the devices that touched it (the submodel
   * aggregation of Niu et al., MobiCom 2020) instead of the cohort's mean. 0 = the cohort's mean.
   */
  rowCountOracle: number;
  /** Replicas of each real device (1 = the real population; > 1 is labelled a replicated population). */
  populationScale: number;
  /** How the server applies the averaged update (see src/server/serverOptimizer.ts). */
  serverOptimizer: ServerOptimizerKind;
  /** Evaluate the per-round sample every this many rounds (and after the last). */
  evalEvery: number;
  /** Test cases sampled (seeded) for the per-round evaluation; final models use the full split. */
  evalCases: number;
  /** Epochs of centralized pretraining on the first half. */
  pretrainEpochs: number;
  /** Epochs of the central fine-tune of the pretrained model on the devices' sessions. */
  finetuneEpochs: number;
  /**
   * Diagnosis: the fine-tune may change only the rows of the this many items most frequent in the
   * devices' sessions (an oracle of popularity; 0 = every row): how much of the fine-tune's reach
   * the rows a round could announce hold.
   */
  finetuneRows: number;
  seed: number;
}

/**
 * Defaults chosen to finish within an hour on 2 cores (~20-40 s per round of 300 devices, the two
 * federated runs in parallel). σ = 1.0 gives ε ≈ 2.1 (δ = 1e-6) after 40 rounds at
 * q = 300/21,967; measured (2026-11-22), the DP model's full-split Recall@20 was the same at σ = 0.6
 * (ε ≈ 7.3: 0.3496) and σ = 1.0 (0.3495), so the default takes the smaller ε. With q this small the
 * RDP bound grows slowly with the number of rounds. Each device's delta after one local SGD epoch at lr 0.5 has norm ≈ 0.9, so C = 0.5 clips nearly
 * all of them (normal for DP-FedAvg: the clip norm sets the step size, the noise σC/K per
 * coordinate of the average is what matters).
 */
export const DEFAULT_SIMULATION: SimulationSettings = {
  rounds: 60,
  clientsPerRound: 256,
  sessionsPerDevice: 4,
  rowsPerRound: 896,
  rowDims: 0,
  rowBasis: 0,
  privateRows: 0,
  rowThreshold: 0,
  rowAccumulate: 0,
  exploitShare: 0.75,
  exploitPool: 1,
  sketchBuckets: 8192,
  sketchShare: 0.3,
  clipNorm: 0.5,
  rowClipShare: 0,
  delta: 1e-6,
  localEpochs: 1,
  localLr: 0.5,
  serverLr: 1,
  rowServerLr: 512,
  serverLrFinal: 1,
  rowCountOracle: 0,
  populationScale: 1,
  serverOptimizer: 'sgd',
  evalEvery: 5,
  evalCases: 3000,
  pretrainEpochs: 3,
  finetuneEpochs: 1,
  finetuneRows: 0,
  seed: 42,
};

/**
 * The simulated model is the shipped one (`train/trainSettings.ts`: E = 64, H = 128, attention 64,
 * temperature 9, the repeat mixture) trained with 2,048 sampled negatives instead of 8,192, so that
 * the two reference runs take minutes, not the better part of an hour.
 */
function referenceSettings(s: SimulationSettings, seed: number, epochs = s.pretrainEpochs): TrainSettings {
  return { ...DEFAULT_SETTINGS, negatives: 2048, epochs, holdout: 0, validCases: 0, seed };
}

/** The floor: every weight, trained from scratch on the first half of the training sessions. */
export function pretrainRun(s: SimulationSettings): CentralRun {
  return { settings: referenceSettings(s, s.seed), federatedOnly: false, startKey: '' };
}

/**
 * The ceiling: every weight, item embeddings included, trained from scratch on both halves with the
 * pretraining's settings and epoch budget (the same number of passes over twice the data). This is
 * what a shop that kept its raw logs would ship; federated rounds are measured against it.
 */
export function centralRun(s: SimulationSettings): CentralRun {
  return { settings: referenceSettings(s, s.seed), federatedOnly: false, startKey: '' };
}

/**
 * The recipe's reference: the same start as the federated runs (the pretrained model, its item table
 * grown to the catalogue) fine-tuned centrally on exactly the devices' sessions, every weight, with
 * the central trainer (Adam, sampled softmax) for `finetuneEpochs` passes. Federated rounds see the
 * same sessions and start from the same weights; what this reaches and they do not is lost to the
 * federated recipe (rows per round, averaging, clipping), what it does not reach is out of any
 * fine-tune's reach at that many passes. With `federatedOnly` (the `finetune_dense` run) only the
 * dense tensors a device trains change, the item table stays frozen: what the rows add is the
 * difference between the two.
 */
export function finetuneRun(s: SimulationSettings, startKey: string, federatedOnly = false): CentralRun {
  const run: CentralRun = { settings: referenceSettings(s, s.seed, s.finetuneEpochs), federatedOnly, startKey };
  if (s.finetuneRows > 0) run.rowLimit = s.finetuneRows;
  return run;
}
