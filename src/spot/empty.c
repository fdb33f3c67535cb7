/* placeholder so the part's library is never empty; removed once the part has code */
