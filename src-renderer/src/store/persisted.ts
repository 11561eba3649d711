/**
 * UI settings that outlive the page (the browser profile's localStorage; Electron keeps it in the app's user
 * data folder). Only small flags live here; a profile without storage (private mode, blocked storage) just
 * forgets them.
 */
const PREFIX = 'skyscore.';

/** The welcome card has been dismissed (or the example opened from it): it is not offered on start again. */
export const WELCOME_DISMISSED = 'welcome.dismissed';

export function readFlag(key: string): boolean {
  try {
    return globalThis.localStorage?.getItem(PREFIX + key) === '1';
  } catch {
    return false;
  }
}

export function writeFlag(key: string, value: boolean): void {
  try {
    if (value) globalThis.localStorage?.setItem(PREFIX + key, '1');
    else globalThis.localStorage?.removeItem(PREFIX + key);
  } catch {
    /* storage blocked: the flag lasts for this page only */
  }
}
