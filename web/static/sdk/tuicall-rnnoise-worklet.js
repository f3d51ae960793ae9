// AudioWorklet processor of the Web SDK's enableAIVoice: RNNoise (the npm
// package @jitsi/rnnoise-wasm, fetched by scripts/web-deps.sh into
// ./vendor/rnnoise/) on the microphone. RNNoise takes frames of 480 samples
// at 48 kHz in 16-bit scale; the worklet collects the 128-sample render
// quanta into frames and plays the cleaned frames out one frame later
// (10 ms of latency). The message {enabled} bypasses it without a gap.
import createRNNWasmModuleSync from './vendor/rnnoise/rnnoise-sync.js';

const FRAME = 480;
const SCALE = 32768;

class TermcallRNNoise extends AudioWorkletProcessor {
  constructor() {
    super();
    const m = {};
    createRNNWasmModuleSync(m); // synchronous: the wasm is inlined
    this.m = m;
    this.st = m._rnnoise_create(0);
    this.inPtr = m._malloc(FRAME * 4);
    this.outPtr = m._malloc(FRAME * 4);
    this.frame = new Float32Array(FRAME);
    this.n = 0;
    this.q = new Float32Array(FRAME * 8); // ring of cleaned samples
    this.r = 0;
    this.w = 0;
    this.avail = 0;
    this.enabled = true;
    this.stopped = false;
    this.vad = 0;
    this.frames = 0;
    this.port.onmessage = (e) => {
      if (e.data && 'enabled' in e.data) this.enabled = !!e.data.enabled;
      if (e.data && e.data.stop) this.stop();
    };
  }

  stop() {
    if (this.stopped) return;
    this.stopped = true;
    this.m._rnnoise_destroy(this.st);
    this.m._free(this.inPtr);
    this.m._free(this.outPtr);
  }

  clean() {
    const heap = this.m.HEAPF32;
    const i0 = this.inPtr >> 2;
    const o0 = this.outPtr >> 2;
    for (let i = 0; i < FRAME; i++) heap[i0 + i] = this.frame[i] * SCALE;
    this.vad = this.m._rnnoise_process_frame(this.st, this.outPtr, this.inPtr);
    const heap2 = this.m.HEAPF32; // the heap may have grown
    for (let i = 0; i < FRAME; i++) {
      this.q[this.w] = this.enabled ? heap2[o0 + i] / SCALE : this.frame[i];
      this.w = (this.w + 1) % this.q.length;
    }
    this.avail = Math.min(this.q.length, this.avail + FRAME);
    if (++this.frames % 100 === 0) this.port.postMessage({ frames: this.frames, vad: this.vad });
  }

  process(inputs, outputs) {
    if (this.stopped) return false;
    const inp = inputs[0] && inputs[0][0];
    const out = outputs[0];
    const len = out[0].length;
    for (let i = 0; i < len; i++) {
      this.frame[this.n++] = inp ? inp[i] : 0;
      if (this.n === FRAME) {
        this.clean();
        this.n = 0;
      }
    }
    for (let i = 0; i < len; i++) {
      let v = 0;
      if (this.avail > 0) {
        v = this.q[this.r];
        this.r = (this.r + 1) % this.q.length;
        this.avail--;
      }
      for (const ch of out) ch[i] = v;
    }
    return true;
  }
}

registerProcessor('termcall-rnnoise', TermcallRNNoise);
