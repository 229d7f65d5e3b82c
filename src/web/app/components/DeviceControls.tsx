import { useId } from 'react';
import { MODES, type RecordingMode } from '../../recorder/modes.ts';
import { QUALITY, QUALITY_LIST, type Quality } from '../../recorder/quality.ts';

export interface DeviceState {
  quality: Quality;
  cameraId: string;
  micId: string;
  mic: boolean;
}

function label(d: MediaDeviceInfo, i: number, kind: string) {
  // Before permission is granted browsers hide labels; number them so the list is still usable.
  return d.label || `${kind} ${i + 1}`;
}

/** Audio takes only use the audio bitrate, so the picture size would mislead there. */
function qualityLabel(q: Quality, video: boolean) {
  if (video) return QUALITY[q].label;
  return `${q[0]!.toUpperCase()}${q.slice(1)} (${Math.round(QUALITY[q].audioBitsPerSecond / 1000)} kbit/s)`;
}

export function DeviceControls(p: {
  mode: RecordingMode;
  value: DeviceState;
  onChange(v: DeviceState): void;
  cameras: MediaDeviceInfo[];
  mics: MediaDeviceInfo[];
  disabled?: boolean;
}) {
  const id = useId();
  const m = MODES[p.mode];
  const set = (patch: Partial<DeviceState>) => p.onChange({ ...p.value, ...patch });
  const micOn = m.micOptional ? p.value.mic : true;
  return (
    <div className="device-controls">
      <div className="field">
        <label htmlFor={`${id}-q`}>Quality</label>
        <select
          id={`${id}-q`}
          value={p.value.quality}
          onChange={(e) => set({ quality: e.target.value as Quality })}
          disabled={p.disabled}
        >
          {QUALITY_LIST.map((q) => (
            <option key={q} value={q}>
              {qualityLabel(q, m.video)}
            </option>
          ))}
        </select>
      </div>
      {m.camera && (
        <div className="field">
          <label htmlFor={`${id}-cam`}>Camera</label>
          <select
            id={`${id}-cam`}
            value={p.value.cameraId}
            onChange={(e) => set({ cameraId: e.target.value })}
            disabled={p.disabled}
          >
            <option value="">Default camera</option>
            {p.cameras
              .filter((d) => d.deviceId)
              .map((d, i) => (
                <option key={d.deviceId} value={d.deviceId}>
                  {label(d, i, 'Camera')}
                </option>
              ))}
          </select>
        </div>
      )}
      {m.micOptional && (
        <div className="field check">
          <input
            id={`${id}-micon`}
            type="checkbox"
            checked={p.value.mic}
            onChange={(e) => set({ mic: e.target.checked })}
            disabled={p.disabled}
          />
          <label htmlFor={`${id}-micon`}>Record my microphone</label>
        </div>
      )}
      {m.mic && micOn && (
        <div className="field">
          <label htmlFor={`${id}-mic`}>Microphone</label>
          <select
            id={`${id}-mic`}
            value={p.value.micId}
            onChange={(e) => set({ micId: e.target.value })}
            disabled={p.disabled}
          >
            <option value="">Default microphone</option>
            {p.mics
              .filter((d) => d.deviceId)
              .map((d, i) => (
                <option key={d.deviceId} value={d.deviceId}>
                  {label(d, i, 'Microphone')}
                </option>
              ))}
          </select>
        </div>
      )}
    </div>
  );
}
