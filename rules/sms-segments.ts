// How many SMS segments a text costs (3GPP TS 23.038): GSM-7 packs 160 characters in one segment and 153
// per part when concatenated; any character outside it makes the whole message UCS-2, 70 and 67.
const GSM_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
// Each of these takes two septets (an escape, then the character).
const GSM_EXTENDED = '^{}\\[~]|€\f';

/**
 * The FCC's healthcare exemption from prior express consent (15-72) holds for messages of at most 160
 * characters, in any alphabet: a UCS-2 text that long takes three segments.
 */
export const FCC_HEALTHCARE_MAX_CHARACTERS = 160;

export interface SmsLength {
  encoding: 'GSM-7' | 'UCS-2';
  /** Septets for GSM-7, UTF-16 code units for UCS-2. */
  units: number;
  segments: number;
}

export function smsLength(text: string): SmsLength {
  let septets = 0;
  for (const char of text) {
    if (GSM_BASIC.includes(char)) septets += 1;
    else if (GSM_EXTENDED.includes(char)) septets += 2;
    else {
      const units = text.length;
      return { encoding: 'UCS-2', units, segments: units <= 70 ? 1 : Math.ceil(units / 67) };
    }
  }
  return { encoding: 'GSM-7', units: septets, segments: septets <= 160 ? 1 : Math.ceil(septets / 153) };
}
