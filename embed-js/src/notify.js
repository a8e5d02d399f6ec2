// A short, quiet tone for a reply that arrives while the visitor looks elsewhere.

/** @type {AudioContext | null} */
let audio = null;

export function beep() {
  try {
    audio = audio || new AudioContext();
    const tone = audio.createOscillator();
    const gain = audio.createGain();
    tone.frequency.value = 880;
    gain.gain.setValueAtTime(0.08, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.3);
    tone.connect(gain).connect(audio.destination);
    tone.start();
    tone.stop(audio.currentTime + 0.3);
  } catch (_) {
    // No sound before the visitor has touched the page; the badge and the title still show.
  }
}
