// Names of the init templates. Kept apart from template.ts (which loads `yaml`) because the init
// spec needs them for --help at start-up, and start-up must not load a YAML parser.
export const TEMPLATES = ['ecommerce', 'minimal'] as const;
export type TemplateName = (typeof TEMPLATES)[number];
