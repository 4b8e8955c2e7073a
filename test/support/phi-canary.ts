// A patient whose every value is unique enough to search for: if any form of it turns up in a log line,
// a database file, a Temporal history or a printed line, PHI leaked.
export const CANARY = {
  name: 'Zephyrine Quillfeather',
  phone: '+14155550177',
  email: 'zq.canary@example.org',
  dateOfBirth: '1969-04-13',
};

/** The forms a leak may take: any case, the surname alone, the number without + or country code. */
export const canaryForms = [
  CANARY.name,
  CANARY.name.toLowerCase(),
  CANARY.name.toUpperCase(),
  'Quillfeather',
  CANARY.phone,
  CANARY.phone.slice(1),
  CANARY.phone.slice(2),
  CANARY.email,
  CANARY.email.toUpperCase(),
  CANARY.dateOfBirth,
  CANARY.dateOfBirth.replaceAll('-', ''),
];
