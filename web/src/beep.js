// Audible feedback through WebAudio. iPadOS starts an AudioContext suspended until a user
// gesture, so the first tap anywhere unlocks it.

let ctx = null;

function context() {
  if (!ctx) {
    const AC = window.AudioContext || window.webkitAudioContext;
    if (!AC) return null;
    ctx = new AC();
  }
  return ctx;
}

/** Resume audio on the first user gesture (required by Safari). */
export function unlockAudioOnGesture() {
  const unlock = () => {
    const c = context();
    if (c && c.state === "suspended") c.resume();
  };
  document.addEventListener("pointerdown", unlock, { passive: true });
  document.addEventListener("keydown", unlock);
}

const TONES = {
  ok: [[1320, 0.09]],
  info: [[990, 0.08], [1320, 0.08]],
  warn: [[660, 0.12], [440, 0.16]],
  error: [[220, 0.35]],
};

/** Play a short tone sequence: "ok", "info", "warn" or "error". */
export function beep(kind = "ok") {
  const c = context();
  if (!c || c.state !== "running") return;
  let t = c.currentTime;
  for (const [freq, dur] of TONES[kind] || TONES.ok) {
    const osc = c.createOscillator();
    const gain = c.createGain();
    osc.type = "square";
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.15, t);
    gain.gain.exponentialRampToValueAtTime(0.001, t + dur);
    osc.connect(gain).connect(c.destination);
    osc.start(t);
    osc.stop(t + dur);
    t += dur + 0.03;
  }
}
