import { describe, expect, it } from 'vitest';
import { configFromDataset, resolveConfig } from '../../../src/config/resolveConfig';

describe('resolveConfig', () => {
  it('applies the documented defaults', () => {
    const { config, problems } = resolveConfig({ modelUrl: '/m/model.json' });
    expect(problems).toEqual([]);
    expect(config).toMatchObject({
      modelUrl: '/m/model.json',
      consent: 'pending',
      backend: 'auto',
      debug: false,
      hideTimeoutMs: 300,
      autoTrack: true,
      retention: { maxEvents: 10_000, maxAgeDays: 90 },
      sessionIdleMs: 30 * 60 * 1000,
      customEventTypes: [],
      updateEndpoint: null,
      workerUrl: null,
    });
  });

  it('replaces a bad value by its default and names the problem, without switching the SDK off', () => {
    const { config, problems } = resolveConfig({
      modelUrl: '/m/model.json',
      backend: 'gpu' as never,
      hideTimeoutMs: 5000,
      retention: { maxEvents: -1 },
      consent: 'yes' as never,
      onError: 'not a function' as never,
    });
    expect(config!.backend).toBe('auto');
    expect(config!.hideTimeoutMs).toBe(300);
    expect(config!.retention.maxEvents).toBe(10_000);
    expect(config!.consent).toBe('pending');
    expect(config!.onError).toBeNull();
    expect(problems.map((p) => p.name)).toEqual(['ConfigError', 'ConfigError', 'ConfigError', 'ConfigError', 'ConfigError']);
    expect(problems.map((p) => p.message).join('\n')).toMatch(/backend "gpu"/);
  });

  it('refuses a config without modelUrl, saying what to do', () => {
    const { config, problems } = resolveConfig({});
    expect(config).toBeNull();
    expect(problems[0]!.name).toBe('ConfigError');
    expect(problems[0]!.message).toMatch(/modelUrl is required/);
  });

  it('reads data-* attributes as camelCase config', () => {
    expect(
      configFromDataset({
        modelUrl: '/m.json',
        consent: 'granted',
        backend: 'wasm',
        debug: '',
        hideTimeoutMs: '200',
        autoTrack: 'false',
        workerUrl: '/w.js',
        updateEndpoint: '/u',
      }),
    ).toEqual({
      modelUrl: '/m.json',
      consent: 'granted',
      backend: 'wasm',
      debug: true,
      hideTimeoutMs: 200,
      autoTrack: false,
      workerUrl: '/w.js',
      updateEndpoint: '/u',
    });
    expect(configFromDataset({})).toEqual({});
  });
});
