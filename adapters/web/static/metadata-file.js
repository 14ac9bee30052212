// Reads what a metadata file holds before it is uploaded: its column names and a sample
// of values, from the start of a CSV (header row, RFC 4180 quoting) or from a JSON array of
// row objects; and guesses each column's field type from the sample, for the import
// dialog to propose (the user can change it).

const HEAD_BYTES = 256 * 1024;
const JSON_FULL_BYTES = 16 * 1024 * 1024;
const SAMPLE_ROWS = 500;
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const DATETIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i;
const LINK = /^https?:\/\/\S+$/i;

export function formatOf(file) {
  const name = file.name.toLowerCase();
  if (name.endsWith(".csv") || file.type === "text/csv") return "csv";
  if (name.endsWith(".json") || file.type === "application/json") return "json";
  return null;
}

// { columns: [name], samples: {name: [value]} }; throws an Error saying what is wrong.
export async function readColumns(file) {
  const format = formatOf(file);
  if (format === "csv") return readCsv(file);
  if (format === "json") return readJson(file);
  throw new Error("Choose a .csv or .json file.");
}

async function readCsv(file) {
  const text = stripBom(await file.slice(0, HEAD_BYTES).text());
  const rows = parseCsv(text, file.size > HEAD_BYTES);
  if (!rows.length || !rows[0].some((cell) => cell.trim())) {
    throw new Error("The CSV file has no header row.");
  }
  const columns = rows[0].map((cell) => cell.trim());
  const samples = Object.fromEntries(columns.map((name) => [name, []]));
  for (const row of rows.slice(1, SAMPLE_ROWS + 1)) {
    columns.forEach((name, index) => {
      if (row[index] !== undefined && row[index] !== "") samples[name].push(row[index]);
    });
  }
  return { columns, samples };
}

async function readJson(file) {
  if (file.size > JSON_FULL_BYTES) {
    // Too big to parse here: the keys of the objects near its start.
    const head = await file.slice(0, HEAD_BYTES).text();
    const columns = [...new Set([...head.matchAll(/"((?:[^"\\]|\\.)+)"\s*:/g)]
      .map((match) => match[1]))];
    return { columns, samples: Object.fromEntries(columns.map((name) => [name, []])) };
  }
  let rows;
  try {
    rows = JSON.parse(stripBom(await file.text()));
  } catch {
    throw new Error("The JSON file is not valid JSON.");
  }
  if (!Array.isArray(rows) || !rows.length || rows.some((row) => !row || typeof row !== "object"
    || Array.isArray(row))) {
    throw new Error("The JSON file must hold an array of row objects.");
  }
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const samples = Object.fromEntries(columns.map((name) => [name, []]));
  for (const row of rows.slice(0, SAMPLE_ROWS)) {
    for (const [name, value] of Object.entries(row)) {
      if (value !== null && value !== "") samples[name].push(value);
    }
  }
  return { columns, samples };
}

function stripBom(text) {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

// Rows of cells; when `truncated`, the last (possibly cut) row is dropped.
function parseCsv(text, truncated) {
  const rows = [];
  let row = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i];
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') { cell += '"'; i += 1; }
      else if (char === '"') quoted = false;
      else cell += char;
    } else if (char === '"') quoted = true;
    else if (char === ",") { row.push(cell); cell = ""; }
    else if (char === "\n" || char === "\r") {
      if (char === "\r" && text[i + 1] === "\n") i += 1;
      row.push(cell); rows.push(row); row = []; cell = "";
    } else cell += char;
  }
  if (cell !== "" || row.length) {
    row.push(cell);
    if (!truncated) rows.push(row);
  }
  return rows;
}

// The type most of the sample's values fit: float, datetime, link, multi_enum (JSON
// arrays), else string.
export function guessType(values) {
  if (!values.length) return "string";
  const share = (test) => values.filter(test).length / values.length;
  if (share((v) => Array.isArray(v)) > 0.5) return "multi_enum";
  if (share((v) => typeof v === "number" || (typeof v === "string" && NUMBER.test(v.trim())))
    > 0.5) return "float";
  if (share((v) => typeof v === "string" && DATETIME.test(v.trim())) > 0.5) return "datetime";
  if (share((v) => typeof v === "string" && LINK.test(v.trim())) > 0.5) return "link";
  return "string";
}

// The distinct options a sample holds, for an enum (CSV multi_enum cells split on ";").
export function optionsOf(values, type) {
  const all = values.flatMap((value) => {
    if (Array.isArray(value)) return value.map(String);
    const text = String(value);
    return type === "multi_enum" ? text.split(";") : [text];
  }).map((text) => text.trim()).filter(Boolean);
  return [...new Set(all)].slice(0, 256);
}
