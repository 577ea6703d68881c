// Street-type words: the USPS Publication 28 (Appendix C1) primary street suffix names and their standard
// abbreviations, with the British ones USPS lacks ("Close", "Gardens", "Mews" is there). Shared by the address
// detector (a house number, name words, then one of these) and the person detector (a given name followed by one
// of these is a street, "Mathias Pass", not a person).

const FULL =
  'Alley Annex Arcade Avenue Bayou Beach Bend Bluff Bluffs Bottom Boulevard Branch Bridge Brook Brooks Burg Burgs Bypass ' +
  'Camp Canyon Cape Causeway Center Centre Centers Circle Circles Cliff Cliffs Close Club Common Commons Corner Corners ' +
  'Course Court Courts Cove Coves Creek Crescent Crest Crossing Crossroad Crossroads Curve Dale Dam Divide Drive Drives ' +
  'Estate Estates Expressway Extension Extensions Falls Ferry Field Fields Flat Flats Ford Fords Forest Forge Forges ' +
  'Fork Forks Fort Freeway Garden Gardens Gateway Glen Glens Green Greens Grove Groves Harbor Harbors Harbour Haven ' +
  'Heights Highway Hill Hills Hollow Inlet Island Islands Isle Junction Junctions Key Keys Knoll Knolls Lake Lakes ' +
  'Landing Lane Light Lights Loaf Lock Locks Lodge Loop Mall Manor Manors Meadow Meadows Mews Mill Mills Mission ' +
  'Motorway Mount Mountain Mountains Neck Orchard Oval Overpass Parade Park Parks Parkway Parkways Pass Passage Path ' +
  'Pike Pine Pines Place Plain Plains Plaza Point Points Port Ports Prairie Promenade Radial Ramp Ranch Rapid Rapids Rest ' +
  'Ridge Ridges River Road Roads Route Row Run Shoal Shoals Shore Shores Skyway Spring Springs Spur Spurs Square ' +
  'Squares Station Stravenue Stream Street Streets Summit Terrace Throughway Trace Track Trafficway Trail Tunnel ' +
  'Turnpike Underpass Union Unions Valley Valleys Viaduct View Views Village Villages Ville Vista Walk Walks Wall Way ' +
  'Ways Well Wells Wharf Wynd';
const ABBREVIATED =
  'Aly Anx Arc Ave Byu Bch Bnd Blf Blfs Btm Blvd Brg Brk Byp Cyn Cpe Cswy Ctr Cir Clf Clfs Cmn Cor Cors ' +
  'Crse Ct Cts Cv Crk Cres Crst Xing Xrd Curv Dr Drs Est Ests Expy Ext Exts Fls Fry Fld Flds Flt Flts Frd Frst ' +
  'Frg Frk Frks Ft Fwy Gdn Gdns Gtwy Gln Grn Grv Hbr Hvn Hts Hwy Hl Hls Holw Inlt Iss Jct Ky Kys Knl Knls Lk Lks Lndg ' +
  'Ln Lgt Lck Ldg Mnr Mdw Mdws Mls Msn Mtwy Mt Mtn Mtns Nck Orch Opas Pkwy Psge Pne Pnes Pl Pln Plns Plz Pt Pts ' +
  'Prt Prts Radl Rnch Rpd Rpds Rst Rdg Rdgs Riv Rd Rds Rte Shl Shls Shr Shrs Skwy Spg Spgs Sq Sqs Sta Stra Strm St ' +
  'Sts Smt Str Ter Trwy Trce Trak Trfy Trl Tunl Tpke Upas Vly Vlys Viad Vw Vws Vlg Vis Wls Wy';

/**
 * Street types that are also everyday words in titles and lists ("10 Best Ways", "3 Green Lights", "Top 5 Walks"):
 * an address detector accepts them only where the street line ends (a comma, a line end, a unit).
 */
const EVERYDAY =
  'Annex Arcade Beach Bend Bottom Branch Bridge Brook Brooks Camp Center Centre Centers Club Common Commons Course Curve ' +
  'Dam Divide Field Fields Flat Flats Ford Fords Forest Forge Forges Fork Forks Fort Green Greens Haven Island Islands Key ' +
  'Keys Lake Lakes Light Lights Loaf Lock Locks Lodge Mall Mill Mills Mission Mount Mountain Mountains Neck Orchard Park Parks ' +
  'Pass Path Pine Pines Plain Plains Point Points Port Ports Prairie Rapid Rapids Rest River Run Shoal Shoals Shore Shores ' +
  'Spring Springs Spur Spurs Station Stream Track Union Unions View Views Walk Walks Wall Ways Well Wells';

/** Street-type words, full and abbreviated (capitalised, as written after a street name). */
export const STREET_TYPES: readonly string[] = `${FULL} ${ABBREVIATED}`.split(' ');
/** The street types that are also everyday words (EVERYDAY above). */
export const EVERYDAY_STREET_TYPES: ReadonlySet<string> = new Set(EVERYDAY.split(' '));
