import { describe, expect, it } from 'vitest';
import { backendPlan } from '../../../src/worker/chooseBackend';

const swiftshader = {
  available: true,
  renderer: 'ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero) (0x0000C0DE)), SwiftShader driver)',
};
const gpu = { available: true, renderer: 'ANGLE (NVIDIA, NVIDIA GeForce RTX 3060 Direct3D11 vs_5_0 ps_5_0)' };
const noWebgl = { available: false, renderer: null };

describe('backendPlan', () => {
  it('auto takes WebGL only on a hardware renderer', () => {
    expect(backendPlan('auto', gpu, true)).toEqual({ order: ['webgl', 'wasm', 'cpu'], reason: `hardware WebGL (${gpu.renderer})` });
    const soft = backendPlan('auto', swiftshader, true);
    expect(soft.order).toEqual(['wasm', 'cpu']);
    expect(soft.reason).toMatch(/software.*SwiftShader/s);
    expect(backendPlan('auto', { available: true, renderer: 'llvmpipe (LLVM 15.0.6, 256 bits)' }, true).order[0]).toBe('wasm');
  });
  it('auto without WebGL or WebAssembly falls to wasm, then cpu', () => {
    expect(backendPlan('auto', noWebgl, true)).toEqual({ order: ['wasm', 'cpu'], reason: 'WebGL is unavailable' });
    expect(backendPlan('auto', noWebgl, false)).toEqual({
      order: ['cpu'],
      reason: 'WebGL is unavailable and WebAssembly is unavailable',
    });
  });
  it('a forced backend goes first, the others follow as fallbacks', () => {
    expect(backendPlan('webgl', swiftshader, true).order).toEqual(['webgl', 'wasm', 'cpu']);
    expect(backendPlan('cpu', gpu, true).order).toEqual(['cpu', 'webgl', 'wasm']);
    expect(backendPlan('wasm', noWebgl, true).order).toEqual(['wasm', 'webgl', 'cpu']);
    expect(backendPlan('cpu', gpu, false).order).toEqual(['cpu', 'webgl']);
    expect(backendPlan('wasm', gpu, true).reason).toMatch(/forced/);
  });
});
