/** Whether every character of `text` is ASCII: its UTF-8 bytes are then its character codes, one each. */
export function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}
