import * as tf from '@tensorflow/tfjs';
import { fromRowRanges } from '../../../src/federated/announcedRows';
import { fromSketchAnnouncement } from '../../../src/federated/announcedSketch';
import { sketchHash } from '../../../src/federated/itemSketch';
import { LocalTrainer } from '../../../src/federated/localTrainer';
import { makeUpdate } from '../../../src/federated/makeUpdate';
import { gatherRows } from '../../../src/model/tfjs/sessionLoss';
import { makeSecureReport } from '../../../src/federated/secureAggregation/secureReport';
import { fetchModelFiles, type ModelFiles } from '../../../src/model/plain/modelFiles';

/**
 * Updates made the way a device makes them, with the device's own code: the server's round and
 * model over HTTP, the announced rows (and item sketch), `LocalTrainer` on the device's sessions
 * (item indices), then `makeUpdate` or, when the server announces secure aggregation, `makeSecureReport`.
 */

export interface DeviceUpload {
  bytes: Uint8Array;
  roundId: string;
  rows: Int32Array;
  /** The model the device trained from (the served int8 version). */
  files: ModelFiles;
  /** Secure reports: the int8 codes before masking. */
  codes?: Int8Array;
}

export async function deviceUpload(url: string, sessions: number[][], lr = 0.5): Promise<DeviceUpload> {
  if (tf.getBackend() !== 'cpu') await tf.setBackend('cpu');
  const m = (await (await fetch(`${url}/v1/model`)).json()) as any;
  const files = await fetchModelFiles(new URL(m.modelUrl, `${url}/v1/model`).toString());
  const config = files.manifest.config;
  const rows = fromRowRanges(m.round.rows, config.numItems, config.numItems);
  if (typeof rows === 'string') throw new Error(rows);
  const sketch = fromSketchAnnouncement(m.round.sketch, 1 << 20);
  if (typeof sketch === 'string') throw new Error(sketch);
  const trainer = new LocalTrainer(config, files.items, { rows });
  const trained = await trainer.train(files.dense, sessions, { lr, epochs: 2 });
  trainer.dispose();
  const rowPair = rows.length > 0 ? { start: gatherRows(rows, files.items, config.embedDim), trained: trained.rows! } : undefined;
  const common = {
    before: files.dense,
    after: trained.weights,
    config,
    modelVersion: m.modelVersion as string,
    clipNorm: m.privacy.clipNorm as number,
    noiseStd: m.privacy.noiseStd as number,
    ...(rowPair ? { rows: rowPair } : {}),
    ...(sketch ? { sketch: { hash: sketchHash(sketch.buckets, sketch.seed), sessions } } : {}),
  };
  if (m.secureAggregation) {
    const s = m.secureAggregation;
    const r = await makeSecureReport({
      ...common,
      round: { roundId: s.roundId, helperPublicKey: s.helperPublicKey, bits: s.bits, step: s.step },
    });
    return { bytes: r.bytes, roundId: m.round.id, rows, files, codes: r.codes };
  }
  const bytes = makeUpdate({ ...common, roundId: m.round.id, exampleCount: trained.examples });
  return { bytes, roundId: m.round.id, rows, files };
}
