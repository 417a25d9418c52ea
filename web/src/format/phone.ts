// Phone numbers in the UI: `+420 601 123 456` (groups of three after the Czech prefix).

export function formatPhone(number: string): string {
  const trimmed = number.trim();
  const czech = /^\+420(\d{3})(\d{3})(\d{3})$/.exec(trimmed);
  if (czech) {
    return `+420 ${czech[1]} ${czech[2]} ${czech[3]}`;
  }
  return trimmed;
}
