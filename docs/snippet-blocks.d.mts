export declare const SNIPPETS_DIR: string
export declare function pageSnippets(page: string): Array<{ name: string; code: string }>
export declare function withSnippets(page: string, read: (name: string) => string): string
