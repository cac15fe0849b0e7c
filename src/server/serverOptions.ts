import { maxCohortFor, shareBits } from '../federated/secureAggregation/additiveShares';
import { secureStep } from '../federated/secureAggregation/secureReport';
import type { HelperClient } from './secureAggregation/helperClient';
import type { SecureAggregation } from './secureAggregation/leaderShares';
/**
 * Settings of the aggregation server, their defaults and checks. The privacy settings are the
 * ones devices must use: `GET /v1/model` hands them out and every update's header must repeat
 * them (`wrong_privacy_parameters` otherwise).
 */
export interface AggregationServerOptions {
  /** The base model directory (`model.json`, `weights.bin`, `vocab.txt`, optional `float/`). */
  modelDir: string;
  /** Where rounds, state and published versions are kept. Default `.data/server`. */
  dataDir?: string;
  /** URL prefix the API is mounted under, e.g. `/fl` (default: none). */
  basePath?: string;
  /** Updates that close a round. Default 100. */
  targetUpdates?: number;
  /** Updates a round needs to close at its deadline (else the deadline is extended). Default ⌈target/2⌉, at least 2 (1 only for a target of 1). */
  minUpdates?: number;
  /** How long a round stays open before the deadline rule applies, in ms. Default 10 minutes. */
  roundDeadlineMs?: number;
  /** Updates trained on up to this many versions back are accepted (down-weighted). Default 2. */
  maxStaleness?: number;
  /** Weight factor per version of staleness. Default 0.5. */
  stalenessDecay?: number;
  /** Example buckets above this count as this many (see fedAvg.ts). Default 16. */
  exampleCap?: number;
  /** The average weight expected per update, for the fixed FedAvg denominator. Default 1. */
  expectedWeight?: number;
  /**
   * Item-embedding rows each round trains (announced on `GET /v1/model`, chosen by the server's
   * row schedule). Default: as many as fit one upload of 256 KB as masked for secure aggregation
   * (or as int8 for plain rounds), at most the catalogue (see rowsPerRound.ts); 0: no row is
   * trained. More than fit is refused at start with the arithmetic.
   */
  rowsPerRound?: number;
  /**
   * Buckets of the item sketch every device of a round appends to its upload (a count sketch of
   * its distinct items, src/federated/itemSketch.ts, at 0.3 of the clip norm; the rest of the update
   * is clipped to what is left): the server reads only the round's noised sum, and ranks the rows
   * of later rounds by it (see rowSchedule.ts). Announced with the round as `round.sketch: {
   * buckets, seed }`; the rows per round shrink to fit beside it. Default 0: no sketch (the
   * DIGINETICA simulation uses 8,192). Meant for secure aggregation: a plain server reads each
   * device's sketch, noised, and so which items it viewed (it says so at start).
   */
  sketchBuckets?: number;
  /**
   * The token of the admin route `POST /v1/admin/catalogue` (new products, see catalogue.ts),
   * at least 16 characters, compared in constant time. Absent: the route does not exist (404).
   */
  adminToken?: string;
  /**
   * Categories of the base model's items (id → category), e.g. from the shop's catalogue: a new
   * item of a known category starts from its category's rows. Default none.
   */
  itemCategories?: Record<string, string>;
  /** Server learning rate. Default 1. */
  serverLr?: number;
  /**
   * Server learning rate of the announced item rows. A row that m of the round's K devices touched
   * moves by m/K of one device's step under plain averaging, so rows learn with a larger rate (the
   * DIGINETICA simulation uses 512 without noise: models/federated/results/README.md); under DP
   * noise that rate multiplies the noise too, and the start-up check counts it. Default: serverLr.
   */
  rowServerLr?: number;
  /**
   * z of the noisy-row gate (rowGate.ts) for the announced rows under DP: a row of a round's
   * noised sum moves only where its change stands z standard deviations of the noise energy above
   * the noise's expected energy, shrunk by the James-Stein factor; the other rows keep their value
   * that round (post-processing: ε is unchanged). For a population whose rounds leave most rows
   * under the noise (models/federated/results/README.md). Default 0: every announced row moves.
   */
  rowGate?: number;
  /** L2 clip norm C devices apply. Default 0.1. */
  clipNorm?: number;
  /** Learning rate devices train with (announced on `GET /v1/model`; devices accept (0, 1]). Default 0.02: with clip 0.1, 0.05 made Recall@20 swing by 1.5 points from round to round on the demo model (models/README.md). */
  deviceLr?: number;
  /** Local passes over a device's sessions per round (announced; devices accept 1-5). Default 1. */
  deviceEpochs?: number;
  /** Noise multiplier σ of a full round's sum (each device adds σ·C/√target). Default 1. */
  noiseMultiplier?: number;
  /** Estimated number of devices that could take part, for the sampling rate q = target / population. Default 10 000. */
  populationEstimate?: number;
  /** δ of the reported (ε, δ). Default 1e-6. */
  delta?: number;
  /**
   * Privacy budget: the cumulative ε (with sampling, as `/v1/status` reports it) the published
   * models may reach. A round that would take ε past it is not closed; once even a full round
   * would, nothing more is published and updates are refused (`privacy_budget_spent`). Default 10;
   * `Infinity` turns the budget off (the server says so at start).
   */
  maxEpsilon?: number;
  /**
   * Start-up check: the noise a full round adds to the model, `serverLr·σ·C·√d / (target·expectedWeight)`
   * (L2 norm, d trainable values), may be at most this fraction of the trainable weights' norm;
   * otherwise the server refuses to start and prints the arithmetic. Default 0.05.
   */
  maxNoiseRatio?: number;
  /** Published versions kept on disk and served (at least maxStaleness + 1). Default 10. */
  keepVersions?: number;
  /** Open connections of the standalone server, in all and per client address. Default 1024 and 32. */
  maxConnections?: number;
  maxConnectionsPerAddress?: number;
  /** A connection that sends nothing for this long is closed, in ms. Default 15 000. */
  idleTimeoutMs?: number;
  /**
   * Participation tokens (Privacy Pass, RFC 9578 type 2, see participationTokens.ts): every
   * update must carry a token issued for its round, `tokensPerAddressPerRound` (default 1) per
   * client address, unlinkable to the request that got it. `issuerName` (default
   * `edge-personalize`) names the issuer in every token. null turns tokens off (tests, benches).
   */
  participationTokens?: { issuerName?: string; tokensPerAddressPerRound?: number } | null;
  /**
   * Secure aggregation with a helper (two non-colluding aggregators, see README.md): devices send
   * additive shares, the helper's sealed to `helperPublicKey`; the server never holds one
   * device's update. `minUpdates` is then the minimum cohort: a round that has fewer reports at
   * its deadline, or fewer that the helper can open, is abandoned and publishes nothing. Each
   * device's noise is sized so that the minimum cohort's sum carries σ·C. Off when absent.
   */
  secureAggregation?: { helper: HelperClient; helperPublicKey: string } | null;
  /** Per client address: `burst` updates at once, refilled at `perMinute`; null disables. Default 10 and 30/min. */
  rateLimit?: { burst: number; perMinute: number } | null;
  /** Origins (e.g. `http://127.0.0.1:8080`) allowed to call the API from a browser. Default none. */
  allowedOrigins?: string[];
  /** Progress lines (round closed, version published, ε). Default: none. Never given bodies or addresses. */
  log?: (line: string) => void;
  /** Clock, for tests. */
  now?: () => number;
}

/** Options with every default filled in and the derived device noise. */
export type ResolvedOptions = Required<
  Omit<AggregationServerOptions, 'rateLimit' | 'participationTokens' | 'secureAggregation' | 'rowsPerRound' | 'adminToken'>
> & {
  /** The admin route's token, or null: no admin route. */
  adminToken: string | null;
  /** As given (undefined: as many as fit; the model decides, see rowsPerRound.ts). */
  rowsPerRound: number | undefined;
  secureAggregation: SecureAggregation | null;
  rateLimit: { burst: number; perMinute: number } | null;
  participationTokens: { issuerName: string; tokensPerAddressPerRound: number } | null;
  /** Std of the noise each device adds per coordinate: σ·C/√target. */
  noiseStd: number;
};

/** Named error for options that cannot work (the CLI prints it and exits with code 2). */
export class ServerConfigError extends Error {
  override name = 'ServerConfigError';
}

/** Fills in defaults and checks ranges; throws {@link ServerConfigError}. */
export function resolveServerOptions(o: AggregationServerOptions): ResolvedOptions {
  const targetUpdates = o.targetUpdates ?? 100;
  const r: ResolvedOptions = {
    modelDir: o.modelDir,
    dataDir: o.dataDir ?? '.data/server',
    basePath: (o.basePath ?? '').replace(/\/+$/, ''),
    targetUpdates,
    minUpdates: o.minUpdates ?? Math.min(targetUpdates, Math.max(2, Math.ceil(targetUpdates / 2))),
    roundDeadlineMs: o.roundDeadlineMs ?? 10 * 60_000,
    maxStaleness: o.maxStaleness ?? 2,
    stalenessDecay: o.stalenessDecay ?? 0.5,
    exampleCap: o.exampleCap ?? 16,
    expectedWeight: o.expectedWeight ?? 1,
    rowsPerRound: o.rowsPerRound,
    sketchBuckets: o.sketchBuckets ?? 0,
    adminToken: o.adminToken ?? null,
    itemCategories: o.itemCategories ?? {},
    serverLr: o.serverLr ?? 1,
    rowServerLr: o.rowServerLr ?? o.serverLr ?? 1,
    rowGate: o.rowGate ?? 0,
    clipNorm: o.clipNorm ?? 0.1,
    noiseMultiplier: o.noiseMultiplier ?? 1,
    deviceLr: o.deviceLr ?? 0.02,
    deviceEpochs: o.deviceEpochs ?? 1,
    populationEstimate: o.populationEstimate ?? 10_000,
    delta: o.delta ?? 1e-6,
    maxEpsilon: o.maxEpsilon ?? 10,
    maxNoiseRatio: o.maxNoiseRatio ?? 0.05,
    keepVersions: o.keepVersions ?? Math.max(10, (o.maxStaleness ?? 2) + 1),
    maxConnections: o.maxConnections ?? 1024,
    maxConnectionsPerAddress: o.maxConnectionsPerAddress ?? 32,
    idleTimeoutMs: o.idleTimeoutMs ?? 15_000,
    participationTokens:
      o.participationTokens === null
        ? null
        : {
            issuerName: o.participationTokens?.issuerName ?? 'edge-personalize',
            tokensPerAddressPerRound: o.participationTokens?.tokensPerAddressPerRound ?? 1,
          },
    rateLimit: o.rateLimit === undefined ? { burst: 10, perMinute: 30 } : o.rateLimit,
    allowedOrigins: o.allowedOrigins ?? [],
    log: o.log ?? (() => {}),
    now: o.now ?? Date.now,
    noiseStd: 0,
    secureAggregation: null,
  };
  const check = (ok: boolean, what: string): void => {
    if (!ok) throw new ServerConfigError(what);
  };
  check(typeof r.modelDir === 'string' && r.modelDir.length > 0, 'modelDir is required');
  check(r.basePath === '' || /^\/[A-Za-z0-9._~/-]*$/.test(r.basePath), `basePath must start with "/", got "${r.basePath}"`);
  check(Number.isInteger(r.targetUpdates) && r.targetUpdates >= 1, 'targetUpdates must be an integer ≥ 1');
  check(
    Number.isInteger(r.minUpdates) && r.minUpdates >= 1 && r.minUpdates <= r.targetUpdates,
    'minUpdates must be an integer in [1, targetUpdates]',
  );
  check(
    r.adminToken === null || (typeof r.adminToken === 'string' && r.adminToken.length >= 16),
    'adminToken must have at least 16 characters',
  );
  check(
    Number.isInteger(r.sketchBuckets) && r.sketchBuckets >= 0,
    `sketchBuckets must be an integer ≥ 0 (0: no item sketch), got ${r.sketchBuckets}`,
  );
  check(r.roundDeadlineMs >= 1000, 'roundDeadlineMs must be ≥ 1000');
  check(Number.isInteger(r.maxStaleness) && r.maxStaleness >= 0, 'maxStaleness must be an integer ≥ 0');
  check(r.stalenessDecay > 0 && r.stalenessDecay <= 1, 'stalenessDecay must be in (0, 1]');
  check(r.exampleCap >= 1, 'exampleCap must be ≥ 1');
  check(r.expectedWeight > 0 && r.expectedWeight <= 1, 'expectedWeight must be in (0, 1]');
  check(r.serverLr > 0 && Number.isFinite(r.serverLr), 'serverLr must be > 0');
  check(r.rowServerLr > 0 && Number.isFinite(r.rowServerLr), 'rowServerLr must be > 0');
  check(r.rowGate >= 0 && Number.isFinite(r.rowGate), 'rowGate must be ≥ 0 (0: no gate)');
  check(r.clipNorm > 0 && Number.isFinite(r.clipNorm), 'clipNorm must be > 0');
  check(r.deviceLr > 0 && r.deviceLr <= 1, 'deviceLr must be in (0, 1] (devices refuse other values)');
  check(
    Number.isInteger(r.deviceEpochs) && r.deviceEpochs >= 1 && r.deviceEpochs <= 5,
    'deviceEpochs must be an integer in [1, 5] (devices refuse other values)',
  );
  check(r.noiseMultiplier >= 0 && Number.isFinite(r.noiseMultiplier), 'noiseMultiplier must be ≥ 0');
  check(r.populationEstimate >= r.targetUpdates, 'populationEstimate must be ≥ targetUpdates');
  check(r.delta > 0 && r.delta < 1, 'delta must be in (0, 1)');
  check(r.maxEpsilon > 0, 'maxEpsilon must be > 0 (Infinity: no budget)');
  check(r.maxNoiseRatio > 0, 'maxNoiseRatio must be > 0 (Infinity: no check)');
  check(
    Number.isInteger(r.keepVersions) && r.keepVersions >= r.maxStaleness + 1,
    `keepVersions must be an integer ≥ maxStaleness + 1 (${r.maxStaleness + 1}): a device may train on that many versions`,
  );
  check(Number.isInteger(r.maxConnections) && r.maxConnections >= 1, 'maxConnections must be an integer ≥ 1');
  check(Number.isInteger(r.maxConnectionsPerAddress) && r.maxConnectionsPerAddress >= 1, 'maxConnectionsPerAddress must be an integer ≥ 1');
  check(r.idleTimeoutMs >= 100, 'idleTimeoutMs must be ≥ 100');
  check(
    r.participationTokens === null ||
      (Number.isInteger(r.participationTokens.tokensPerAddressPerRound) && r.participationTokens.tokensPerAddressPerRound >= 1),
    'participationTokens.tokensPerAddressPerRound must be an integer ≥ 1',
  );
  check(
    r.rateLimit === null || (r.rateLimit.burst >= 1 && r.rateLimit.perMinute > 0),
    'rateLimit needs burst ≥ 1 and perMinute > 0 (or null to disable)',
  );
  const secure = o.secureAggregation;
  if (secure) {
    check(
      r.minUpdates >= 2,
      'with secure aggregation, minUpdates (the minimum cohort) must be ≥ 2: one report alone would be read in the clear',
    );
    check(
      r.targetUpdates <= maxCohortFor(32),
      `with secure aggregation, targetUpdates must be ≤ ${maxCohortFor(32)} (a larger sum of int8 values could wrap mod 2^32)`,
    );
    r.secureAggregation = {
      helper: secure.helper,
      helperPublicKey: secure.helperPublicKey,
      minCohort: r.minUpdates,
      bits: shareBits(r.targetUpdates),
      step: 0, // set below, once the devices' noise is known
    };
  }
  // Each device's share of the noise: σ·C on the sum of the smallest cohort the round publishes
  // (secure aggregation: the minimum cohort; otherwise the target, as the server sees each update).
  r.noiseStd = (r.noiseMultiplier * r.clipNorm) / Math.sqrt(noiseCohort(r));
  if (r.secureAggregation) r.secureAggregation.step = secureStep(r.clipNorm, r.noiseStd);
  return r;
}

/** The cohort size the devices' noise is sized for (see {@link resolveServerOptions}). */
export function noiseCohort(r: Pick<ResolvedOptions, 'secureAggregation' | 'targetUpdates'>): number {
  return r.secureAggregation ? r.secureAggregation.minCohort : r.targetUpdates;
}
